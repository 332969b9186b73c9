package githubbot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
)

// envRun carries out one /env command; it replies on the pull request
// itself and returns only errors worth retrying.
type envRun func(ctx context.Context, c *cmdContext) error

// envSpec is one /env subcommand; each has its file (cmd_*.go).
type envSpec = command.Spec[envRun]

// Trigger is the word that starts a command line in a comment.
const Trigger = "/env"

// cmdContext is one command being run.
type cmdContext struct {
	ev   *Event
	repo string
	pr   *gh.PullRequest
	ref  prRef
	user *gh.User
	meta commit.Meta
	in   *command.Input
}

// replyNoServer answers a command that needs the pull request's test
// server when there is none.
func (b *Bot) replyNoServer(ctx context.Context, c *cmdContext) error {
	return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s there is no test server for this pull request.", c.user.GetLogin()))
}

// newCommands builds the /env registry, in the order help lists it.
func (b *Bot) newCommands() *command.Registry[envRun] {
	r := command.New[envRun](Trigger, command.Options{Help: "help"})
	for _, s := range []envSpec{
		b.createCommand(), b.updateCommand(), b.deleteCommand(), b.extendCommand(), b.retryCommand(), b.statusCommand(), b.helpCommand(),
	} {
		r.Add(s)
	}
	return r
}

// changes is the permission of commands that change a test server.
func (b *Bot) changes() command.Permission {
	return command.Permission(b.cfg.CommandPermission + " access to the repository")
}

// serverFlags are the flags of create and update.
func serverFlags() []command.Flag {
	return []command.Flag{
		command.SizeFlag("installation size, or provisionerXL-N; the template's when left out"),
		{Name: "env", Kind: command.Repeated, Value: "KEY=VALUE", Check: checkEnvPair,
			Help: "Mattermost environment variable; an empty VALUE removes it"},
	}
}

// serverMutations are what the flags of create and update change.
func serverMutations(in *command.Input) []commit.Mutation {
	var ms []commit.Mutation
	if size := in.String("size"); size != "" {
		ms = append(ms, commit.SetSize(size))
	}
	if pairs := in.List("env"); len(pairs) > 0 {
		env := map[string]string{}
		for _, p := range pairs {
			k, v, _ := strings.Cut(p, "=")
			env[k] = v
		}
		ms = append(ms, commit.SetEnv(env))
	}
	return ms
}

func checkEnvPair(s string) error {
	if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
		return fmt.Errorf("invalid --env %q: want KEY=VALUE (an empty VALUE removes the variable)", s)
	}
	return nil
}

// Help is the generated command help, in Markdown.
func (b *Bot) Help() string {
	var w strings.Builder
	w.WriteString("**envwick commands** (comment on a pull request)\n\n")
	w.WriteString(b.commands.Overview())
	labels := slices.Sorted(func(yield func(string) bool) {
		for l := range b.cfg.Templates {
			if !yield(l) {
				return
			}
		}
	})
	fmt.Fprintf(&w, "\n\nLabels that create a test server: %s. Removing the label or closing the pull request destroys it; each push updates it.\n", "`"+strings.Join(labels, "`, `")+"`")
	fmt.Fprintf(&w, "\nCommands that change a test server need %s access to the repository.\n", b.cfg.CommandPermission)
	return w.String()
}

// parseCommand reads one "/env ..." line.
func (b *Bot) parseCommand(line string) (*envSpec, *command.Input, error) {
	rest, _ := strings.CutPrefix(line, Trigger)
	return b.commands.Parse(rest)
}

// commandLines returns the lines of a comment that are /env commands.
func commandLines(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if l == Trigger || strings.HasPrefix(l, Trigger+" ") {
			out = append(out, l)
		}
	}
	return out
}

func (b *Bot) onIssueComment(ctx context.Context, ev *Event) error {
	e := ev.Payload.(*gh.IssueCommentEvent)
	repo := e.GetRepo().GetFullName()
	if e.GetAction() != "created" || !b.cfg.serves(repo) {
		return nil
	}
	user := e.GetComment().GetUser()
	if user == nil {
		user = e.GetSender()
	}
	if user.GetType() == "Bot" {
		return nil // never answer bots, including this one
	}
	lines := commandLines(e.GetComment().GetBody())
	if len(lines) == 0 {
		return nil
	}
	b.gh.Remember(repo, e.GetInstallation().GetID())
	number := e.GetIssue().GetNumber()
	ref := prRef{Name: EnvironmentName(repo, number), Repo: repo, Number: number}
	if !e.GetIssue().IsPullRequest() {
		return b.fb.reply(ctx, ref, fmt.Sprintf("@%s `/env` commands work on pull requests: a test server runs a pull request's head.", user.GetLogin()))
	}
	for i, line := range lines {
		spec, in, err := b.parseCommand(line)
		if err != nil {
			if err := b.fb.reply(ctx, ref, fmt.Sprintf("@%s %s", user.GetLogin(), err)); err != nil {
				return err
			}
			continue
		}
		if spec.Permission != command.Anyone {
			ok, err := b.allowed(ctx, repo, user.GetLogin())
			if err != nil {
				return err
			}
			if !ok {
				if err := b.fb.reply(ctx, ref, fmt.Sprintf("@%s `/env %s` needs %s access to %s.", user.GetLogin(), spec.Name, b.cfg.CommandPermission, repo)); err != nil {
					return err
				}
				continue
			}
		}
		cc := &cmdContext{ev: ev, repo: repo, ref: ref, user: user, in: in,
			meta: commit.Meta{
				Actor: person(user), Login: user.GetLogin(), Requester: requester(user, repo, number),
				Source:   e.GetIssue().GetHTMLURL(),
				Delivery: ev.Delivery, Command: line,
			}}
		if len(lines) > 1 {
			// One delivery, several commands: each commit keeps its own
			// de-duplication key.
			cc.meta.Delivery = fmt.Sprintf("%s/%d", ev.Delivery, i)
		}
		if err := spec.Run(ctx, cc); err != nil {
			return err
		}
	}
	return nil
}

// allowed checks the commenter's permission on the repository.
func (b *Bot) allowed(ctx context.Context, repo, login string) (bool, error) {
	cl, err := b.gh.For(ctx, repo)
	if err != nil {
		return false, err
	}
	owner, name, _ := strings.Cut(repo, "/")
	p, _, err := cl.Repositories.GetPermissionLevel(ctx, owner, name, login)
	if err != nil {
		return false, fmt.Errorf("checking %s's permission on %s: %w", login, repo, err)
	}
	return permissionRank[p.GetPermission()] >= permissionRank[b.cfg.CommandPermission], nil
}

// pull fetches the pull request a command is about (an issue_comment
// event does not carry its head).
func (b *Bot) pull(ctx context.Context, c *cmdContext) error {
	if c.pr != nil {
		return nil
	}
	cl, err := b.gh.For(ctx, c.repo)
	if err != nil {
		return err
	}
	owner, name, _ := strings.Cut(c.repo, "/")
	pr, _, err := cl.PullRequests.Get(ctx, owner, name, c.ref.Number)
	if err != nil {
		return fmt.Errorf("reading pull request %s#%d: %w", c.repo, c.ref.Number, err)
	}
	c.pr = pr
	c.ref.HeadSHA = pr.GetHead().GetSHA()
	return nil
}

func (b *Bot) recordActivity(ctx context.Context, c *cmdContext) {
	if b.activity != nil {
		b.activity.RecordActivity(ctx, c.ref.Name, b.now(), c.meta.Command)
	}
}
