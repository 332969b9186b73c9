package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit"
	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/reconciler"
)

// Options build an Automation.
type Options struct {
	Config Config
	// GitHub is the GitHub bot's clients.
	GitHub *githubbot.Clients
	// Committer commits the e2e environments to the envs repository.
	Committer *commit.Committer
	// GitToken authenticates fetches and pushes over HTTP (basic auth,
	// user x-access-token); empty for none.
	GitToken string
	// DataDir keeps the e2e runs in flight across restarts; empty keeps
	// them in memory.
	DataDir string
	// HTTP fetches CLA signer lists; default a client with a 30 s timeout.
	HTTP   *http.Client
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Automation is the pull request automation: handlers on the GitHub bot,
// a reconciler notifier (for e2e environments) and the stale sweep.
type Automation struct {
	cfg Config
	api *api
	log *slog.Logger
	now func() time.Time

	commands *commands
	cla      *cla
	update   *updateBranch
	cherry   *cherryPick
	stale    *stale
	e2e      *e2eTest
}

// New checks the configuration and builds the automation.
func New(o Options) (*Automation, error) {
	cfg, err := o.Config.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.GitHub == nil {
		return nil, errors.New("pull request automation: GitHub access is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	a := &Automation{cfg: cfg, api: newAPI(o.GitHub), log: o.Logger, now: o.Now}
	git := &gitRunner{token: o.GitToken, committer: gitIdentity{Name: cfg.CommitterName, Email: cfg.CommitterEmail}}
	a.cla = newCLA(a.api, o.HTTP, git, o.Logger)
	a.update = &updateBranch{gh: a.api, git: git, log: o.Logger}
	a.cherry = &cherryPick{gh: a.api, git: git, log: o.Logger, allowed: a.allowed}
	a.stale = newStale(a.api, o.Logger, o.Now)
	if a.e2e, err = newE2E(a.api, o.Committer, o.DataDir, o.Logger); err != nil {
		return nil, err
	}
	a.commands = a.registerCommands()
	return a, nil
}

// Register adds the automation's handlers to the GitHub bot; call it
// before the bot serves.
func (a *Automation) Register(b *githubbot.Bot) {
	b.Handle("pull_request", "cla", a.forRepo(func(r Repository) bool { return r.CLA != nil }, a.cla.onPullRequest))
	b.Handle("pull_request", "cherry-pick at merge", a.forRepo(func(r Repository) bool { return r.CherryPick != nil }, a.cherry.onPullRequest))
	b.Handle("pull_request", "stale: activity", a.forRepo(func(r Repository) bool { return r.Stale != nil }, a.stale.onActivity))
	b.Handle("pull_request_review", "stale: activity", a.forRepo(func(r Repository) bool { return r.Stale != nil }, a.stale.onActivity))
	b.Handle("issue_comment", "stale: activity", a.forRepo(func(r Repository) bool { return r.Stale != nil }, a.stale.onActivity))
	b.Handle("issue_comment", "pull request automation commands", a.onComment)
	b.Handle("workflow_run", "e2e runs", a.forRepo(func(r Repository) bool { return r.E2E != nil }, a.e2e.onWorkflowRun))
}

// repoHandler handles an event of a repository that enables the handler.
type repoHandler func(ctx context.Context, ev *githubbot.Event, repo string, cfg Repository) error

type repoEvent interface {
	GetRepo() *gh.Repository
	GetInstallation() *gh.Installation
}

func (a *Automation) forRepo(enabled func(Repository) bool, h repoHandler) githubbot.EventHandler {
	return func(ctx context.Context, ev *githubbot.Event) error {
		e, ok := ev.Payload.(repoEvent)
		if !ok {
			return nil
		}
		repo := e.GetRepo().GetFullName()
		cfg, ok := a.cfg.repo(repo)
		if !ok || !enabled(cfg) {
			return nil
		}
		a.api.clients.Remember(repo, e.GetInstallation().GetID())
		return h(ctx, ev, repo, cfg)
	}
}

// Notify implements reconciler.Notifier: e2e environments becoming ready
// start their workflow. It never blocks on GitHub.
func (a *Automation) Notify(ctx context.Context, t reconciler.Transition) { a.e2e.notify(t) }

// Run works the e2e queue and sweeps stale pull requests every
// StaleInterval until ctx ends.
func (a *Automation) Run(ctx context.Context) error {
	go a.e2e.run(ctx)
	t := time.NewTicker(a.cfg.StaleInterval.Duration)
	defer t.Stop()
	for {
		a.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep runs the stale sweep once over every repository that enables it.
func (a *Automation) Sweep(ctx context.Context) {
	for name, r := range a.cfg.Repositories {
		if r.Stale == nil {
			continue
		}
		if err := a.stale.sweep(ctx, name, *r.Stale); err != nil {
			a.log.WarnContext(ctx, "stale sweep", "repository", name, "error", err)
		}
	}
}

// Wait blocks until the e2e queue is empty or ctx ends (for tests).
func (a *Automation) Wait(ctx context.Context) error { return a.e2e.wait(ctx) }

// allowed checks login's permission on repo against need. It asks GitHub
// each time: permissions change, and commands are few.
func (a *Automation) allowed(ctx context.Context, repo, login, need string) (bool, error) {
	p, err := a.api.Permission(ctx, repo, login)
	if err != nil {
		return false, err
	}
	return permissionRank[p] >= permissionRank[need], nil
}

func isBot(u *gh.User) bool {
	return u.GetType() == "Bot" || strings.HasSuffix(u.GetLogin(), "[bot]")
}

// person is the commit identity of a GitHub user: GitHub's no-reply
// address, which attributes the commit without exposing anyone's mail.
func person(u *gh.User) gitIdentity {
	name := u.GetName()
	if name == "" {
		name = u.GetLogin()
	}
	return gitIdentity{Name: name, Email: fmt.Sprintf("%d+%s@users.noreply.github.com", u.GetID(), u.GetLogin())}
}
