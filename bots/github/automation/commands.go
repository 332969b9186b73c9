package automation

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v57/github"

	githubbot "github.com/envwick/envwick/bots/github"
)

// command is one comment command. This table is the only place commands
// are named and their arguments counted; help is generated from it.
type command struct {
	name string
	args string // usage after the name
	help string
	// minArgs and maxArgs bound the arguments; maxArgs -1 is unbounded.
	minArgs, maxArgs int
	// write commands need the repository's Permission; the others anyone
	// may run.
	write bool
	// enabled says whether a repository's configuration turns it on.
	enabled func(Repository) bool
	run     func(ctx context.Context, c *invocation) error
}

// invocation is one command being run.
type invocation struct {
	ev     *githubbot.Event
	repo   string
	cfg    Repository
	number int
	user   *gh.User
	line   string
	args   []string
	// delivery keys what the command commits or pushes: the webhook
	// delivery, and the line's position when one comment holds several.
	delivery string
	pr       *gh.PullRequest
}

// HelpCommand shows the generated help.
const HelpCommand = "/pr-help"

func (a *Automation) registerCommands() []*command {
	always := func(Repository) bool { return true }
	return []*command{
		{name: "/check-cla", help: "check again that every commit author has signed the CLA",
			enabled: func(r Repository) bool { return r.CLA != nil }, run: a.cla.command},
		{name: "/update-branch", help: "merge the base branch into this pull request's branch and push the merge commit",
			write: true, enabled: func(r Repository) bool { return r.UpdateBranch != nil }, run: a.update.command},
		{name: "/cherry-pick", args: "BRANCH [BRANCH...]", minArgs: 1, maxArgs: 8,
			help:  "cherry-pick this pull request onto each release branch and open a pull request there (now if merged, else at merge)",
			write: true, enabled: func(r Repository) bool { return r.CherryPick != nil }, run: a.cherry.command},
		{name: "/e2e-test", args: "[SUITE]", maxArgs: 1,
			help:  "run the end-to-end suite on a fresh environment of the head commit (a new run replaces one in progress)",
			write: true, enabled: func(r Repository) bool { return r.E2E != nil }, run: a.e2e.command},
		{name: "/e2e-cancel", args: "[SUITE]", maxArgs: 1, help: "cancel the end-to-end run and delete its environment",
			write: true, enabled: func(r Repository) bool { return r.E2E != nil }, run: a.e2e.cancelCommand},
		{name: HelpCommand, help: "show this help", enabled: always, run: a.helpCommand},
	}
}

// Help is the generated help for a repository's configuration, in
// Markdown.
func (a *Automation) Help(cfg Repository) string {
	var w strings.Builder
	w.WriteString("**Pull request commands** (comment on a pull request)\n\n")
	for _, c := range a.commands {
		if !c.enabled(cfg) {
			continue
		}
		fmt.Fprintf(&w, "- `%s`: %s", strings.TrimSpace(c.name+" "+c.args), c.help)
		if c.write {
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
// of this bot (other bots' commands are left alone).
func (a *Automation) parse(line string, cfg Repository) (c *command, args []string, ok bool, err error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, nil, false, nil
	}
	for _, cmd := range a.commands {
		if cmd.name == fields[0] && cmd.enabled(cfg) {
			c = cmd
		}
	}
	if c == nil {
		return nil, nil, false, nil
	}
	args = fields[1:]
	if n := len(args); n < c.minArgs || (c.maxArgs >= 0 && n > c.maxArgs) {
		usage := strings.TrimSpace(c.name + " " + c.args)
		if c.maxArgs == 0 {
			return c, nil, true, fmt.Errorf("`%s` takes no arguments", c.name)
		}
		return c, nil, true, fmt.Errorf("usage: `%s`", usage)
	}
	return c, args, true, nil
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
		c, args, ok, err := a.parse(line, cfg)
		if !ok {
			continue
		}
		inv := &invocation{ev: ev, repo: repo, cfg: cfg, number: e.GetIssue().GetNumber(), user: user, line: line,
			args: args, delivery: fmt.Sprintf("%s/%d", ev.Delivery, i)}
		if err != nil {
			if err := a.reply(ctx, inv, err.Error()+"\n\n"+a.Help(cfg)); err != nil {
				return err
			}
			continue
		}
		if !e.GetIssue().IsPullRequest() && c.name != HelpCommand {
			if err := a.reply(ctx, inv, fmt.Sprintf("`%s` works on pull requests, and this is an issue.", c.name)); err != nil {
				return err
			}
			continue
		}
		if c.write {
			ok, err := a.allowed(ctx, repo, user.GetLogin(), cfg.Permission)
			if err != nil {
				return err
			}
			if !ok {
				if err := a.reply(ctx, inv, fmt.Sprintf("`%s` needs %s access to %s.", c.name, cfg.Permission, repo)); err != nil {
					return err
				}
				continue
			}
		}
		if err := c.run(ctx, inv); err != nil {
			return err
		}
	}
	return nil
}

func (a *Automation) helpCommand(ctx context.Context, c *invocation) error {
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
