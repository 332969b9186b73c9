package githubbot

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

// command is one "/env" subcommand. Help is generated from the registered
// commands, so it cannot drift from what the bot accepts.
type command struct {
	name  string
	args  string // usage after the name, such as "[--size S] [--env K=V]"
	help  string
	flags func(fs *flag.FlagSet, o *cmdOptions)
	// minArgs and maxArgs bound the positional arguments.
	minArgs, maxArgs int
	// anyone may run it (read-only commands); others need
	// Config.CommandPermission.
	anyone bool
	run    func(ctx context.Context, c *cmdContext) error
}

// cmdOptions collects flag values.
type cmdOptions struct {
	size string
	env  envFlag
}

// envFlag is a repeatable --env KEY=VALUE.
type envFlag map[string]string

func (e envFlag) String() string { return "" }

func (e *envFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE (an empty VALUE removes the variable)")
	}
	if *e == nil {
		*e = envFlag{}
	}
	(*e)[k] = v
	return nil
}

// cmdContext is one command being run.
type cmdContext struct {
	ev   *Event
	repo string
	pr   *gh.PullRequest
	ref  prRef
	user *gh.User
	meta commit.Meta
	opts cmdOptions
	args []string
}

func (b *Bot) registerCommands() {
	sizeFlag := func(fs *flag.FlagSet, o *cmdOptions) {
		fs.StringVar(&o.size, "size", "", "installation size ("+strings.Join(envs.Sizes(), ", ")+")")
	}
	envFlags := func(fs *flag.FlagSet, o *cmdOptions) {
		fs.Var(&o.env, "env", "Mattermost environment variable KEY=VALUE; repeatable")
	}
	both := func(fs *flag.FlagSet, o *cmdOptions) { sizeFlag(fs, o); envFlags(fs, o) }
	for _, c := range []*command{
		{name: "create", args: "[--size SIZE] [--env KEY=VALUE]...", flags: both, run: b.cmdCreate,
			help: fmt.Sprintf("create a test server for this pull request (template %q)", b.cfg.DefaultTemplate)},
		{name: "update", args: "[--size SIZE] [--env KEY=VALUE]...", flags: both, run: b.cmdUpdate,
			help: "update the test server: set variables or size, move it to the head commit, wake it"},
		{name: "delete", run: b.cmdDelete, help: "destroy the test server"},
		{name: "extend", args: "DURATION", minArgs: 1, maxArgs: 1, run: b.cmdExtend,
			help: "keep the test server longer, for example 36h, 3d or 1w"},
		{name: "status", anyone: true, run: b.cmdStatus, help: "show the test server's state and address"},
		{name: "help", anyone: true, run: b.cmdHelp, help: "show this help"},
	} {
		if c.flags == nil {
			c.flags = func(*flag.FlagSet, *cmdOptions) {}
		}
		b.commands[c.name] = c
	}
}

// Help is the generated command help, in Markdown.
func (b *Bot) Help() string {
	var names []string
	for n := range b.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var w strings.Builder
	w.WriteString("**envwick commands** (comment on a pull request)\n\n")
	for _, n := range names {
		c := b.commands[n]
		usage := strings.TrimSpace("/env " + c.name + " " + c.args)
		fmt.Fprintf(&w, "- `%s`: %s\n", usage, c.help)
	}
	labels := slices.Sorted(func(yield func(string) bool) {
		for l := range b.cfg.Templates {
			if !yield(l) {
				return
			}
		}
	})
	fmt.Fprintf(&w, "\nLabels that create a test server: %s. Removing the label or closing the pull request destroys it; each push updates it.\n", "`"+strings.Join(labels, "`, `")+"`")
	fmt.Fprintf(&w, "\nCommands that change a test server need %s access to the repository.\n", b.cfg.CommandPermission)
	return w.String()
}

// parseCommand reads one "/env ..." line.
func (b *Bot) parseCommand(line string) (*command, cmdOptions, []string, error) {
	var o cmdOptions
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return nil, o, nil, fmt.Errorf("`/env` needs a command")
	}
	c, ok := b.commands[fields[1]]
	if !ok {
		return nil, o, nil, fmt.Errorf("unknown command `%s`", fields[1])
	}
	fs := flag.NewFlagSet("/env "+c.name, flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	c.flags(fs, &o)
	if err := fs.Parse(fields[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, o, nil, fmt.Errorf("usage: `/env %s %s`", c.name, c.args)
		}
		return c, o, nil, fmt.Errorf("`/env %s`: %v; usage: `/env %s %s`", c.name, err, c.name, c.args)
	}
	if n := fs.NArg(); n < c.minArgs || n > c.maxArgs {
		return c, o, nil, fmt.Errorf("`/env %s` takes %s; usage: `/env %s %s`", c.name, argCount(c), c.name, c.args)
	}
	if o.size != "" && !envs.ValidSize(o.size) {
		return c, o, nil, fmt.Errorf("`--size %s` is not a size; valid sizes: %s", o.size, strings.Join(envs.Sizes(), ", "))
	}
	return c, o, fs.Args(), nil
}

func argCount(c *command) string {
	switch {
	case c.maxArgs == 0:
		return "no arguments"
	case c.minArgs == c.maxArgs:
		return fmt.Sprintf("%d argument(s): %s", c.minArgs, c.args)
	}
	return fmt.Sprintf("%d to %d arguments", c.minArgs, c.maxArgs)
}

// commandLines returns the lines of a comment that are /env commands.
func commandLines(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if l == "/env" || strings.HasPrefix(l, "/env ") {
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
		c, opts, args, err := b.parseCommand(line)
		if err != nil {
			msg := fmt.Sprintf("@%s %s\n\n%s", user.GetLogin(), err, b.Help())
			if err := b.fb.reply(ctx, ref, msg); err != nil {
				return err
			}
			continue
		}
		if !c.anyone {
			ok, err := b.allowed(ctx, repo, user.GetLogin())
			if err != nil {
				return err
			}
			if !ok {
				if err := b.fb.reply(ctx, ref, fmt.Sprintf("@%s `/env %s` needs %s access to %s.", user.GetLogin(), c.name, b.cfg.CommandPermission, repo)); err != nil {
					return err
				}
				continue
			}
		}
		cc := &cmdContext{ev: ev, repo: repo, ref: ref, user: user, opts: opts, args: args,
			meta: commit.Meta{
				Actor: person(user), Login: user.GetLogin(), Source: e.GetIssue().GetHTMLURL(),
				Delivery: ev.Delivery, Command: line,
			}}
		if len(lines) > 1 {
			// One delivery, several commands: each commit keeps its own
			// de-duplication key.
			cc.meta.Delivery = fmt.Sprintf("%s/%d", ev.Delivery, i)
		}
		if err := c.run(ctx, cc); err != nil {
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

func (b *Bot) cmdCreate(ctx context.Context, c *cmdContext) error {
	if err := b.pull(ctx, c); err != nil {
		return err
	}
	if isFork(c.pr) && !b.cfg.ServeForks {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s this pull request comes from a fork; test servers are not created for forks here.", c.user.GetLogin()))
	}
	label := b.cfg.DefaultTemplate
	if l, ok := b.templateLabel(c.pr.Labels); ok {
		label = l
	}
	env := b.environmentFor(c.repo, c.pr, label, b.cfg.Templates[label])
	for _, m := range b.optionMutations(c.opts) {
		if err := m(env); err != nil {
			return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s %v", c.user.GetLogin(), err))
		}
	}
	res, err := b.committer.Create(ctx, c.meta, env)
	if errors.Is(err, commit.ErrExists) {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` exists already; use `/env update` to change it or `/env delete` first.", c.user.GetLogin(), c.ref.Name))
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseCreating)
}

func (b *Bot) optionMutations(o cmdOptions) []commit.Mutation {
	var ms []commit.Mutation
	if o.size != "" {
		ms = append(ms, commit.SetSize(o.size))
	}
	if len(o.env) > 0 {
		ms = append(ms, commit.SetEnv(o.env))
	}
	return ms
}

func (b *Bot) cmdUpdate(ctx context.Context, c *cmdContext) error {
	if err := b.pull(ctx, c); err != nil {
		return err
	}
	b.recordActivity(ctx, c)
	sha := c.ref.HeadSHA
	muts := append(b.optionMutations(c.opts),
		commit.SetVersion(b.cfg.image(c.repo), b.cfg.version(sha)),
		commit.SetPullRequestHead(sha),
		commit.SetState(envs.StateRunning))
	res, err := b.committer.Update(ctx, c.meta, c.ref.Name, muts...)
	if errors.Is(err, commit.ErrNotFound) {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s there is no test server for this pull request; use `/env create` or a test server label.", c.user.GetLogin()))
	}
	if err == nil && !res.Changed && !res.Duplicate {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` is already like that; nothing to change.", c.user.GetLogin(), c.ref.Name))
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseUpdating)
}

func (b *Bot) cmdDelete(ctx context.Context, c *cmdContext) error {
	res, err := b.committer.Delete(ctx, c.meta, c.ref.Name)
	if errors.Is(err, commit.ErrNotFound) {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s there is no test server for this pull request.", c.user.GetLogin()))
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseDestroying)
}

func (b *Bot) cmdExtend(ctx context.Context, c *cmdContext) error {
	d, err := envs.ParseDuration(c.args[0])
	if err == nil && d <= 0 {
		err = fmt.Errorf("the duration must be positive")
	}
	if err != nil {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s `/env extend %s`: %v. Use forms like 36h, 3d or 1w.", c.user.GetLogin(), c.args[0], err))
	}
	b.recordActivity(ctx, c)
	res, err := b.committer.Update(ctx, c.meta, c.ref.Name, commit.Extend(d, b.committer.Now(), b.cfg.DefaultTTL))
	if errors.Is(err, commit.ErrNotFound) {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s there is no test server for this pull request.", c.user.GetLogin()))
	}
	if err != nil {
		return b.afterCommit(ctx, c.ref, res, err, phaseUpdating)
	}
	if res.Duplicate {
		return nil
	}
	if !res.Changed {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` has no fixed end of life: it is hibernated and deleted only when idle, and this command counts as activity.", c.user.GetLogin(), c.ref.Name))
	}
	return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` extended by %s (%s).", c.user.GetLogin(), c.ref.Name, envs.FormatDuration(d), lifetime(res.Environment)))
}

func lifetime(e *envs.Environment) string {
	if e == nil {
		return "lifetime unknown"
	}
	lc := e.Spec.Lifecycle
	switch {
	case lc.ExpiresAt != nil:
		return "expires " + lc.ExpiresAt.UTC().Format(time.RFC1123)
	case lc.TTL != nil:
		return "lifetime " + lc.TTL.String() + " from creation"
	}
	return "lifetime unchanged"
}

func (b *Bot) cmdStatus(ctx context.Context, c *cmdContext) error {
	who := "@" + c.user.GetLogin()
	if b.status == nil {
		return b.fb.reply(ctx, c.ref, who+" status is not available from this bot; see the test server comment above.")
	}
	st, ok, err := b.status.EnvironmentStatus(ctx, c.ref.Name)
	if err != nil {
		return fmt.Errorf("reading status of %s: %w", c.ref.Name, err)
	}
	if !ok {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("%s there is no test server `%s`.", who, c.ref.Name))
	}
	var w strings.Builder
	fmt.Fprintf(&w, "%s test server `%s`:\n\n", who, c.ref.Name)
	if in := st.Installation; in != nil {
		fmt.Fprintf(&w, "- state: %s\n- address: %s\n- version: %s\n", orDash(in.State), orDash(in.URL), orDash(shortSHA(in.Version)))
	}
	for _, cond := range st.Conditions {
		fmt.Fprintf(&w, "- %s: %s (%s) %s\n", cond.Type, cond.Status, cond.Reason, oneLine(cond.Message))
	}
	if st.LastError != "" {
		fmt.Fprintf(&w, "- last error: %s\n", oneLine(st.LastError))
	}
	if st.DeleteAt != nil {
		fmt.Fprintf(&w, "- deleted at: %s\n", st.DeleteAt.UTC().Format(time.RFC1123))
	}
	return b.fb.reply(ctx, c.ref, w.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (b *Bot) cmdHelp(ctx context.Context, c *cmdContext) error {
	return b.fb.reply(ctx, c.ref, "@"+c.user.GetLogin()+"\n\n"+b.Help())
}
