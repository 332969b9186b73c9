package automation

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v57/github"

	cmdreg "github.com/envwick/envwick/bots/command"
	githubbot "github.com/envwick/envwick/bots/github"
)

// command is what one pull request command does, and whether a
// repository's configuration turns it on; the registry holds its name,
// arguments, permission and help.
type command struct {
	enabled func(Repository) bool
	run     func(ctx context.Context, c *invocation) error
}

// commands is the registry of this bot's commands: each is a slash word of
// its own (no shared trigger), parsed, checked and documented by
// bots/command like /env and /cloud.
type commands = cmdreg.Registry[command]

// invocation is one command being run.
type invocation struct {
	ev     *githubbot.Event
	repo   string
	cfg    Repository
	number int
	user   *gh.User
	line   string
	// args are the positional values, in order.
	args []string
	// delivery keys what the command commits or pushes: the webhook
	// delivery, and the line's position when one comment holds several.
	delivery string
	pr       *gh.PullRequest
}

// HelpCommand shows the generated help.
const HelpCommand = "/pr-help"

// permissionWrite marks the commands that need the repository's configured
// permission (default write); the others anyone may run.
const permissionWrite cmdreg.Permission = "permission"

// maxCherryPickTargets bounds one /cherry-pick: each target is a push and
// a pull request.
const maxCherryPickTargets = 8

func (a *Automation) registerCommands() *commands {
	r := cmdreg.New[command]("", cmdreg.Options{Name: "pull request automation", Help: HelpCommand})
	r.Add(cmdreg.Spec[command]{Name: "/check-cla", Permission: cmdreg.Anyone,
		Summary: "check again that every commit author has signed the CLA",
		Run:     command{enabled: func(r Repository) bool { return r.CLA != nil }, run: a.cla.command}})
	r.Add(cmdreg.Spec[command]{Name: "/update-branch", Permission: permissionWrite,
		Summary: "merge the base branch into this pull request's branch and push the merge commit",
		Run:     command{enabled: func(r Repository) bool { return r.UpdateBranch != nil }, run: a.update.command}})
	r.Add(cmdreg.Spec[command]{Name: "/cherry-pick", Permission: permissionWrite,
		Summary: "cherry-pick this pull request onto each release branch and open a pull request there (now if merged, else at merge)",
		Args:    []cmdreg.Arg{{Name: "BRANCH", Variadic: true, Help: "a release branch of the repository"}},
		Check: func(in *cmdreg.Input) error {
			if n := len(in.Args("BRANCH")); n > maxCherryPickTargets {
				return fmt.Errorf("at most %d branches at once, not %d", maxCherryPickTargets, n)
			}
			return nil
		},
		Run: command{enabled: func(r Repository) bool { return r.CherryPick != nil }, run: a.cherry.command}})
	r.Add(cmdreg.Spec[command]{Name: "/e2e-test", Permission: permissionWrite,
		Summary: "run the end-to-end suite on a fresh environment of the head commit (a new run replaces one in progress)",
		Args:    []cmdreg.Arg{{Name: "SUITE", Optional: true, Help: "the suite (default: the repository's default suite)"}},
		Run:     command{enabled: func(r Repository) bool { return r.E2E != nil }, run: a.e2e.command}})
	r.Add(cmdreg.Spec[command]{Name: "/e2e-cancel", Permission: permissionWrite,
		Summary: "cancel the end-to-end run and delete its environment",
		Args:    []cmdreg.Arg{{Name: "SUITE", Optional: true, Help: "the suite (default: the repository's default suite)"}},
		Run:     command{enabled: func(r Repository) bool { return r.E2E != nil }, run: a.e2e.cancelCommand}})
	r.Add(cmdreg.Spec[command]{Name: HelpCommand, Permission: cmdreg.Anyone,
		Summary: "show the generated help (the commands enabled for the repository)",
		Args:    []cmdreg.Arg{{Name: "COMMAND", Kind: cmdreg.Subcommand, Optional: true, Help: "one command's arguments"}},
		Run:     command{enabled: func(Repository) bool { return true }, run: a.helpCommand}})
	return r
}

// Help is the generated help for a repository's configuration, in
// Markdown.
func (a *Automation) Help(cfg Repository) string {
	var w strings.Builder
	w.WriteString("**Pull request commands** (comment on a pull request)\n\n")
	for _, s := range a.commands.Specs() {
		if !s.Run.enabled(cfg) {
			continue
		}
		fmt.Fprintf(&w, "- `%s`: %s", a.commands.Synopsis(s), s.Summary)
		if s.Permission == permissionWrite {
			fmt.Fprintf(&w, " (%s access)", cfg.Permission)
		}
		w.WriteString("\n")
	}
	if cfg.E2E != nil {
		fmt.Fprintf(&w, "\nEnd-to-end suites: `%s` (default `%s`).\n", strings.Join(suiteNames(cfg.E2E.Suites), "`, `"), cfg.E2E.DefaultSuite)
	}
	if cfg.CherryPick != nil {
		fmt.Fprintf(&w, "\nA pull request labelled `%s` is cherry-picked at merge to its milestone's release branch.\n", LabelCherryPickApproved)
	}
	if st := cfg.Stale; st != nil {
		fmt.Fprintf(&w, "\nOpen pull requests without activity for %d days are labelled `%s`; any activity removes the label.\n", st.Days, LabelStale)
	}
	return w.String()
}

// parse reads one comment line. ok is false when the line is no command
// of this bot, or one the repository has not turned on (other bots'
// commands are left alone).
func (a *Automation) parse(line string, cfg Repository) (s *cmdreg.Spec[command], args []string, ok bool, err error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, nil, false, nil
	}
	s, ok = a.commands.Lookup(fields[0])
	if !ok || !s.Run.enabled(cfg) {
		return nil, nil, false, nil
	}
	s, in, err := a.commands.Parse(line)
	if err != nil {
		return nil, nil, true, err
	}
	for _, arg := range s.Args {
		if arg.Variadic {
			args = append(args, in.Args(arg.Name)...)
		} else if v := in.Arg(arg.Name); v != "" {
			args = append(args, v)
		}
	}
	return s, args, true, nil
}

func (a *Automation) onComment(ctx context.Context, ev *githubbot.Event) error {
	e := ev.Payload.(*gh.IssueCommentEvent)
	repo := e.GetRepo().GetFullName()
	cfg, served := a.cfg.repo(repo)
	if e.GetAction() != "created" || !served {
		return nil
	}
	user := e.GetComment().GetUser()
	if user == nil {
		user = e.GetSender()
	}
	if isBot(user) {
		return nil // never answer bots, including this one
	}
	a.api.clients.Remember(repo, e.GetInstallation().GetID())
	lines := strings.Split(e.GetComment().GetBody(), "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		s, args, ok, err := a.parse(line, cfg)
		if !ok {
			continue
		}
		inv := &invocation{ev: ev, repo: repo, cfg: cfg, number: e.GetIssue().GetNumber(), user: user, line: line,
			args: args, delivery: fmt.Sprintf("%s/%d", ev.Delivery, i)}
		if err != nil {
			if err := a.reply(ctx, inv, err.Error()); err != nil {
				return err
			}
			continue
		}
		if !e.GetIssue().IsPullRequest() && s.Name != HelpCommand {
			if err := a.reply(ctx, inv, fmt.Sprintf("`%s` works on pull requests, and this is an issue.", s.Name)); err != nil {
				return err
			}
			continue
		}
		if s.Permission == permissionWrite {
			ok, err := a.allowed(ctx, repo, user.GetLogin(), cfg.Permission)
			if err != nil {
				return err
			}
			if !ok {
				if err := a.reply(ctx, inv, fmt.Sprintf("`%s` needs %s access to %s.", s.Name, cfg.Permission, repo)); err != nil {
					return err
				}
				continue
			}
		}
		if err := s.Run.run(ctx, inv); err != nil {
			return err
		}
	}
	return nil
}

func (a *Automation) helpCommand(ctx context.Context, c *invocation) error {
	if len(c.args) > 0 {
		return a.reply(ctx, c, "\n\n"+a.commands.Usage(c.args[0]))
	}
	return a.reply(ctx, c, "\n\n"+a.Help(c.cfg))
}

// reply answers the commenter on the pull request.
func (a *Automation) reply(ctx context.Context, c *invocation, msg string) error {
	return replyTo(ctx, a.api, c, msg)
}

// pull reads the pull request a command is about (an issue_comment event
// does not carry its head).
func (c *invocation) pull(ctx context.Context, gh interface {
	PullRequest(ctx context.Context, repo string, number int) (*gh.PullRequest, error)
}) (*gh.PullRequest, error) {
	if c.pr != nil {
		return c.pr, nil
	}
	pr, err := gh.PullRequest(ctx, c.repo, c.number)
	c.pr = pr
	return pr, err
}

// replier answers on a pull request; every handler does.
type replier interface {
	Comment(ctx context.Context, repo string, number int, body string) error
}

func replyTo(ctx context.Context, r replier, c *invocation, msg string) error {
	return r.Comment(ctx, c.repo, c.number, "@"+c.user.GetLogin()+" "+msg)
}
