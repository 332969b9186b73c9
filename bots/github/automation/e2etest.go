package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v57/github"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// "/e2e-test [SUITE]" commits an ephemeral environment for the pull
// request's head to the envs repository (the suite's template, owned by the
// commenter, with a TTL). When the reconciler reports it ready, the
// configured workflow is dispatched with the environment's name and URL,
// and its workflow_run webhooks become the commit status "e2e/SUITE". When
// the run ends, the environment is deleted, by commit. "/e2e-cancel"
// cancels the run and deletes the environment; a new "/e2e-test" while one
// runs replaces it.

// StatusE2E is the prefix of the e2e commit status context ("e2e/SUITE").
const StatusE2E = githubbot.E2ELabelPrefix

// e2eGitHub is what the e2e tests need of GitHub.
type e2eGitHub interface {
	PullRequest(ctx context.Context, repo string, number int) (*gh.PullRequest, error)
	Comment(ctx context.Context, repo string, number int, body string) error
	SetStatus(ctx context.Context, repo, sha string, s Status) error
	Dispatch(ctx context.Context, repo, workflow, ref string, inputs map[string]any) error
	FindRun(ctx context.Context, repo, workflow, title string) (*gh.WorkflowRun, error)
	CancelRun(ctx context.Context, repo string, id int64) error
}

// e2eRun is one run in flight, keyed by its environment.
type e2eRun struct {
	Env      string    `json:"env"`
	Repo     string    `json:"repo"`
	Number   int       `json:"number"`
	Suite    string    `json:"suite"`
	SHA      string    `json:"sha"`
	Workflow string    `json:"workflow"`
	Ref      string    `json:"ref"`
	URL      string    `json:"url,omitempty"`
	Ready    bool      `json:"ready,omitempty"`
	Started  time.Time `json:"started,omitempty"` // when the workflow was dispatched
	RunID    int64     `json:"runID,omitempty"`
}

type e2eTest struct {
	gh        e2eGitHub
	committer *commit.Committer
	log       *slog.Logger
	file      string

	mu    sync.Mutex
	runs  map[string]*e2eRun
	work  []func(context.Context) error
	wake  chan struct{}
	busy  int
	idle  chan struct{}
	delay []time.Duration
}

func newE2E(api e2eGitHub, committer *commit.Committer, dataDir string, log *slog.Logger) (*e2eTest, error) {
	t := &e2eTest{gh: api, committer: committer, log: log, runs: map[string]*e2eRun{}, wake: make(chan struct{}, 1),
		idle: make(chan struct{}), delay: []time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute}}
	close(t.idle)
	if dataDir == "" {
		return t, nil
	}
	t.file = filepath.Join(dataDir, "e2e-runs.json")
	data, err := os.ReadFile(t.file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading the e2e runs: %w", err)
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &t.runs); err != nil {
			return nil, fmt.Errorf("reading the e2e runs %s: %w", t.file, err)
		}
	}
	return t, nil
}

// e2eName is the environment of suite for pull request number of repo.
func e2eName(repo string, number int, suite string) string {
	name := githubbot.EnvironmentName(repo, number)
	suffix := "-e2e-" + suite
	if len(name)+len(suffix) > 63 {
		name = strings.TrimRight(name[:63-len(suffix)], "-")
	}
	return name + suffix
}

func (t *e2eTest) suiteOf(inv *invocation) (string, error) {
	cfg := inv.cfg.E2E
	suite := cfg.DefaultSuite
	if len(inv.args) > 0 {
		suite = inv.args[0]
	}
	if _, ok := cfg.Suites[suite]; !ok {
		return "", fmt.Errorf("there is no suite `%s`; suites: `%s`.", suite, strings.Join(suiteNames(cfg.Suites), "`, `"))
	}
	return suite, nil
}

func (t *e2eTest) command(ctx context.Context, inv *invocation) error {
	cfg := inv.cfg.E2E
	suite, err := t.suiteOf(inv)
	if err != nil {
		return replyTo(ctx, t.gh, inv, err.Error())
	}
	pr, err := inv.pull(ctx, t.gh)
	if err != nil {
		return err
	}
	head := pr.GetHead()
	switch {
	case pr.GetState() != "open":
		return replyTo(ctx, t.gh, inv, "this pull request is closed; end-to-end tests run on open pull requests.")
	case !cfg.AllowForks && !strings.EqualFold(head.GetRepo().GetFullName(), inv.repo):
		return replyTo(ctx, t.gh, inv, "this pull request comes from a fork; end-to-end tests do not run forks' code here.")
	}
	name := e2eName(inv.repo, inv.number, suite)
	ref := cfg.Ref
	if ref == "" {
		ref = pr.GetBase().GetRef()
	}
	run := &e2eRun{Env: name, Repo: inv.repo, Number: inv.number, Suite: suite, SHA: head.GetSHA(), Workflow: cfg.Workflow, Ref: ref}
	old := t.replace(run)
	if old != nil {
		if err := t.cancelRun(ctx, old); err != nil {
			return err
		}
	}
	res, err := t.committer.Put(ctx, t.meta(inv, pr.GetHTMLURL()), t.environment(cfg, run, inv.user.GetLogin()))
	var invalid *commit.InvalidError
	switch {
	case errors.As(err, &invalid):
		t.forget(name)
		return replyTo(ctx, t.gh, inv, "the environment of suite `"+suite+"` is not valid:\n\n```\n"+invalid.Problems.Error()+"\n```")
	case err != nil:
		return err
	case res.Duplicate:
		return nil
	}
	if !res.Changed && old != nil && old.Ready {
		// The same environment, ready already: no transition will come.
		run.Ready, run.URL = true, old.URL
		t.save()
		t.enqueue(func(ctx context.Context) error { return t.dispatch(ctx, name) })
	}
	what := "Creating its environment"
	if old != nil {
		what = "Replacing the run in progress"
	}
	return t.gh.SetStatus(ctx, run.Repo, run.SHA, Status{Context: StatusE2E + suite, State: "pending", Description: what + " " + name})
}

func (t *e2eTest) cancelCommand(ctx context.Context, inv *invocation) error {
	suite, err := t.suiteOf(inv)
	if err != nil {
		return replyTo(ctx, t.gh, inv, err.Error())
	}
	name := e2eName(inv.repo, inv.number, suite)
	run := t.forget(name)
	if run == nil {
		return replyTo(ctx, t.gh, inv, fmt.Sprintf("no end-to-end run of suite `%s` is in progress.", suite))
	}
	if err := t.cancelRun(ctx, run); err != nil {
		return err
	}
	if err := t.remove(ctx, name, t.meta(inv, "")); err != nil {
		return err
	}
	if err := t.gh.SetStatus(ctx, run.Repo, run.SHA, Status{Context: StatusE2E + suite, State: "error", Description: "Cancelled by @" + inv.user.GetLogin()}); err != nil {
		return err
	}
	return replyTo(ctx, t.gh, inv, fmt.Sprintf("cancelled the end-to-end run of suite `%s`; its environment `%s` is being deleted.", suite, name))
}

// cancelRun cancels a run's workflow run, if it was dispatched: by its ID,
// or, before any workflow_run event told the ID, found by its display
// title.
func (t *e2eTest) cancelRun(ctx context.Context, run *e2eRun) error {
	if run.Started.IsZero() {
		return nil
	}
	id := run.RunID
	if id == 0 {
		found, err := t.gh.FindRun(ctx, run.Repo, run.Workflow, run.Env)
		if err != nil {
			return err
		}
		if id = found.GetID(); id == 0 {
			return nil
		}
	}
	return t.gh.CancelRun(ctx, run.Repo, id)
}

// environment is the environment a run needs.
func (t *e2eTest) environment(cfg *E2E, run *e2eRun, owner string) *envs.Environment {
	s := cfg.Suites[run.Suite]
	version := run.SHA
	if cfg.ShortSHA && len(version) > 7 {
		version = version[:7]
	}
	return &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: run.Env},
		Spec: envs.EnvironmentSpec{
			Owner: envs.Owner{GitHub: owner},
			Source: envs.Source{PullRequest: &envs.PullRequestSource{
				Repository: run.Repo, Number: run.Number, HeadSHA: run.SHA, Label: StatusE2E + run.Suite,
			}},
			Installation: envs.Installation{Image: cfg.Image, Version: version, Size: s.Size, License: s.License, Env: maps.Clone(s.Env)},
			Lifecycle:    envs.Lifecycle{TTL: envs.NewDuration(s.TTL.Duration)},
		},
	}
}

// throughPR is login acting through pull request number of repo, as the
// committer's policy sees them: that pull request's environments are
// theirs to change (GitHub and the command permission vouched for them).
func throughPR(login, repo string, number int) commit.Requester {
	return commit.Requester{GitHub: login, PullRequest: &commit.PullRequestRef{Repository: repo, Number: number}}
}

// meta is the commit metadata of a command.
func (t *e2eTest) meta(inv *invocation, source string) commit.Meta {
	p := person(inv.user)
	return commit.Meta{Actor: commit.Person{Name: p.Name, Email: p.Email}, Login: inv.user.GetLogin(),
		Requester: throughPR(inv.user.GetLogin(), inv.repo, inv.number), Source: source, Delivery: inv.delivery, Command: inv.line}
}

// notify hears the reconciler: a run's environment ready starts the
// workflow; failed or deleted ends the run.
func (t *e2eTest) notify(tr reconciler.Transition) {
	t.mu.Lock()
	run, ok := t.runs[tr.Name]
	t.mu.Unlock()
	if !ok {
		return
	}
	switch tr.Kind {
	case reconciler.TransitionReady, reconciler.TransitionUpdated, reconciler.TransitionWokeUp:
		t.mu.Lock()
		run.Ready, run.URL = true, tr.URL()
		t.mu.Unlock()
		t.save()
		t.enqueue(func(ctx context.Context) error { return t.dispatch(ctx, tr.Name) })
	case reconciler.TransitionFailed, reconciler.TransitionDeleted:
		reason := tr.Message
		if reason == "" {
			reason = tr.Reason
		}
		t.enqueue(func(ctx context.Context) error { return t.abandon(ctx, tr.Name, run, string(tr.Kind), reason) })
	}
}

// dispatch starts the workflow of a run whose environment is ready, once.
func (t *e2eTest) dispatch(ctx context.Context, name string) error {
	t.mu.Lock()
	run, ok := t.runs[name]
	if !ok || !run.Started.IsZero() || !run.Ready {
		t.mu.Unlock()
		return nil
	}
	r := *run
	t.mu.Unlock()
	inputs := map[string]any{"environment": r.Env, "url": r.URL, "sha": r.SHA, "pull_request": strconv.Itoa(r.Number), "suite": r.Suite}
	if err := t.gh.Dispatch(ctx, r.Repo, r.Workflow, r.Ref, inputs); err != nil {
		return err
	}
	t.mu.Lock()
	if cur, ok := t.runs[name]; ok && cur == run {
		run.Started = time.Now().UTC()
	}
	t.mu.Unlock()
	t.save()
	return t.gh.SetStatus(ctx, r.Repo, r.SHA, Status{Context: StatusE2E + r.Suite, State: "pending", Description: "Running " + r.Workflow + " on " + r.URL})
}

// abandon ends a run whose environment failed or went away.
func (t *e2eTest) abandon(ctx context.Context, name string, run *e2eRun, kind, reason string) error {
	t.mu.Lock()
	cur, ok := t.runs[name]
	t.mu.Unlock()
	if !ok || cur != run {
		return nil
	}
	if err := t.cancelRun(ctx, run); err != nil {
		return err
	}
	t.forget(name)
	if kind == string(reconciler.TransitionFailed) {
		if err := t.remove(ctx, name, commit.Meta{Actor: commit.Person{Name: "envwick"}, Login: "envwick", Requester: throughPR("envwick", run.Repo, run.Number), Command: "e2e environment failed"}); err != nil {
			return err
		}
	}
	return t.gh.SetStatus(ctx, run.Repo, run.SHA, Status{Context: StatusE2E + run.Suite, State: "error", Description: "Environment " + kind + ": " + reason})
}

// onWorkflowRun follows the dispatched runs: the run's ID (for cancel and
// the status link) when it starts, its conclusion when it completes, then
// the environment's deletion.
func (t *e2eTest) onWorkflowRun(ctx context.Context, ev *githubbot.Event, repo string, cfg Repository) error {
	e := ev.Payload.(*gh.WorkflowRunEvent)
	wr := e.GetWorkflowRun()
	if wr.GetEvent() != "workflow_dispatch" || !strings.HasSuffix(e.GetWorkflow().GetPath(), "/"+cfg.E2E.Workflow) {
		return nil
	}
	t.mu.Lock()
	var run *e2eRun
	for _, r := range t.runs {
		if strings.EqualFold(r.Repo, repo) && titleNames(wr.GetDisplayTitle(), r.Env) {
			run = r
		}
	}
	// A run of this environment dispatched before the current one (a
	// replaced or cancelled run) is not the current run.
	current := run != nil && !run.Started.IsZero() &&
		(run.RunID == wr.GetID() || run.RunID == 0 && !wr.GetCreatedAt().Time.Before(run.Started.Add(-time.Minute)))
	if current {
		run.RunID = wr.GetID()
	}
	var r e2eRun
	if current {
		r = *run
	}
	t.mu.Unlock()
	if !current {
		return nil
	}
	t.save()
	st := Status{Context: StatusE2E + r.Suite, TargetURL: wr.GetHTMLURL()}
	if e.GetAction() != "completed" {
		st.State, st.Description = "pending", "Running "+r.Workflow+" on "+r.URL
		return t.gh.SetStatus(ctx, r.Repo, r.SHA, st)
	}
	switch wr.GetConclusion() {
	case "success":
		st.State, st.Description = "success", "Passed on "+r.Env
	case "cancelled", "skipped", "neutral", "stale", "action_required":
		st.State, st.Description = "error", "Run "+wr.GetConclusion()
	default:
		st.State, st.Description = "failure", "Failed ("+wr.GetConclusion()+") on "+r.Env
	}
	if err := t.gh.SetStatus(ctx, r.Repo, r.SHA, st); err != nil {
		return err
	}
	m := commit.Meta{Actor: commit.Person{Name: "envwick"}, Login: "envwick", Requester: throughPR("envwick", r.Repo, r.Number),
		Source: wr.GetHTMLURL(), Delivery: ev.Delivery, Command: "e2e run " + wr.GetConclusion()}
	if err := t.remove(ctx, r.Env, m); err != nil {
		return err
	}
	t.forget(r.Env)
	return nil
}

// remove deletes a run's environment by commit; one gone already is fine.
func (t *e2eTest) remove(ctx context.Context, name string, m commit.Meta) error {
	_, err := t.committer.Delete(ctx, m, name)
	if err != nil && !errors.Is(err, commit.ErrNotFound) {
		return err
	}
	return nil
}

// replace makes run the current run of its environment, returning the one
// it replaces.
func (t *e2eTest) replace(run *e2eRun) *e2eRun {
	t.mu.Lock()
	old := t.runs[run.Env]
	t.runs[run.Env] = run
	t.mu.Unlock()
	t.save()
	return old
}

func (t *e2eTest) forget(name string) *e2eRun {
	t.mu.Lock()
	run := t.runs[name]
	delete(t.runs, name)
	t.mu.Unlock()
	if run != nil {
		t.save()
	}
	return run
}

// save writes the runs in flight (with a data directory), so that a
// restart still follows them.
func (t *e2eTest) save() {
	if t.file == "" {
		return
	}
	t.mu.Lock()
	data, err := json.Marshal(t.runs)
	t.mu.Unlock()
	if err == nil {
		tmp := t.file + ".tmp"
		if err = os.WriteFile(tmp, data, 0o644); err == nil {
			err = os.Rename(tmp, t.file)
		}
	}
	if err != nil {
		t.log.Warn("saving the e2e runs", "error", err)
	}
}

// enqueue queues work that calls GitHub, so that notify never blocks.
func (t *e2eTest) enqueue(fn func(context.Context) error) {
	t.mu.Lock()
	if t.busy == 0 {
		t.idle = make(chan struct{})
	}
	t.busy++
	t.work = append(t.work, fn)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run works the queue until ctx ends, retrying failed work with growing
// waits.
func (t *e2eTest) run(ctx context.Context) {
	for {
		t.mu.Lock()
		var fn func(context.Context) error
		if len(t.work) > 0 {
			fn, t.work = t.work[0], t.work[1:]
		}
		t.mu.Unlock()
		if fn == nil {
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
				continue
			}
		}
		for attempt := 0; ; attempt++ {
			err := fn(ctx)
			if err == nil || ctx.Err() != nil || attempt >= len(t.delay) {
				if err != nil {
					t.log.ErrorContext(ctx, "e2e: giving up", "error", err)
				}
				break
			}
			t.log.WarnContext(ctx, "e2e: retrying", "error", err, "in", t.delay[attempt])
			select {
			case <-ctx.Done():
			case <-time.After(t.delay[attempt]):
			}
		}
		t.mu.Lock()
		t.busy--
		if t.busy == 0 {
			close(t.idle)
		}
		t.mu.Unlock()
	}
}

func (t *e2eTest) wait(ctx context.Context) error {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
