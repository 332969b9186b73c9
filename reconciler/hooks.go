package reconciler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/envwick/envwick/envs"
)

// Clock tells the time; tests pass one they control.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Metrics receives what a pass did. reconciler/metrics implements it with
// Prometheus collectors; the default discards.
type Metrics interface {
	// PassDone records one pass and how long it took.
	PassDone(d time.Duration, err error)
	// Action records one applied action and its result: "blocked",
	// "deferred", or the class of the call's outcome as for APICall ("ok",
	// "error", "conflict", "not_found", "canceled").
	Action(a Action, result string)
	// APICall records one provisioner call by verb and result.
	APICall(verb, result string)
	// Environments replaces the count of environments by installation
	// state and Ready condition reason.
	Environments(counts map[EnvironmentKey]int)
	// Guard records whether the mass-deletion guard is holding deletions.
	Guard(blocked bool)
	// InvalidFiles records how many environment files do not parse or
	// validate, as of the last pass.
	InvalidFiles(n int)
}

// EnvironmentKey groups environments for the Environments gauge.
type EnvironmentKey struct {
	State     string
	Condition string
}

type noMetrics struct{}

func (noMetrics) PassDone(time.Duration, error)       {}
func (noMetrics) Action(Action, string)               {}
func (noMetrics) APICall(string, string)              {}
func (noMetrics) Environments(map[EnvironmentKey]int) {}
func (noMetrics) Guard(bool)                          {}
func (noMetrics) InvalidFiles(int)                    {}

// ActivitySource tells when an environment was last used. The reconciler
// reads it to decide idle hibernation; later sources (installation usage)
// implement it too.
type ActivitySource interface {
	LastActivity(ctx context.Context, name string) (time.Time, bool)
}

// ActivityRecorder is called by the bots when someone uses an environment:
// a push to its pull request, a chat command about it.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, name string, at time.Time, what string)
}

// Activity is an in-memory ActivitySource and ActivityRecorder. What it
// records reaches the status branch (lastActivity) on the next pass, so it
// survives restarts from there.
type Activity struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// NewActivity returns an empty Activity.
func NewActivity() *Activity { return &Activity{last: map[string]time.Time{}} }

// RecordActivity notes that name was used at at.
func (a *Activity) RecordActivity(_ context.Context, name string, at time.Time, _ string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if at.After(a.last[name]) {
		a.last[name] = at
	}
}

// LastActivity returns the latest recorded use of name.
func (a *Activity) LastActivity(_ context.Context, name string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.last[name]
	return t, ok
}

// TransitionKind names a change people hear about.
type TransitionKind string

const (
	TransitionReady      TransitionKind = "ready"
	TransitionUpdated    TransitionKind = "updated"
	TransitionFailed     TransitionKind = "failed"
	TransitionHibernated TransitionKind = "hibernated"
	TransitionWokeUp     TransitionKind = "woke-up"
	TransitionDeleted    TransitionKind = "deleted"
	TransitionExpiring   TransitionKind = "expiring"
)

// Transition is one change to an environment, with what a bot needs to tell
// its owner: the environment (spec: owner, source pull request or chat,
// head SHA; status: installation URL and state, conditions), the envs
// repository commit it was observed at, and why.
type Transition struct {
	Kind TransitionKind
	Name string
	// Environment holds the spec and the status as recorded. When the file
	// is gone (TransitionDeleted) or does not parse, the spec holds only
	// the last known owner and source (empty if none was ever recorded).
	Environment *envs.Environment
	Commit      string
	Reason      string
	Message     string
	At          time.Time
	// Deadline and DeadlineAction are set for TransitionExpiring: when the
	// environment will be hibernated (HousekeepHibernate, for idleness) or
	// deleted (HousekeepDelete). Each deadline is announced once.
	Deadline       time.Time
	DeadlineAction HousekeepingAction
}

// URL is the installation URL, if known.
func (t Transition) URL() string {
	if t.Environment == nil || t.Environment.Status.Installation == nil {
		return ""
	}
	return t.Environment.Status.Installation.URL
}

// Owner is the environment's owner, if the spec is known.
func (t Transition) Owner() envs.Owner {
	if t.Environment == nil {
		return envs.Owner{}
	}
	return t.Environment.Spec.Owner
}

// Source is what asked for the environment, if the spec is known.
func (t Transition) Source() envs.Source {
	if t.Environment == nil {
		return envs.Source{}
	}
	return t.Environment.Spec.Source
}

// HeadSHA is the pull request head the environment runs, if any.
func (t Transition) HeadSHA() string {
	if pr := t.Source().PullRequest; pr != nil {
		return pr.HeadSHA
	}
	return ""
}

// Notifier hears about transitions. Bots implement it to comment on pull
// requests and send direct messages. Notify must not block for long: the
// reconciler calls it after a pass has recorded status.
type Notifier interface {
	Notify(ctx context.Context, t Transition)
}

// LogNotifier logs transitions; it is the default notifier.
type LogNotifier struct{ Logger *slog.Logger }

// Notify logs t.
func (n LogNotifier) Notify(ctx context.Context, t Transition) {
	attrs := []any{"environment", t.Name, "transition", string(t.Kind), "reason", t.Reason, "commit", t.Commit}
	if u := t.URL(); u != "" {
		attrs = append(attrs, "url", u)
	}
	if !t.Deadline.IsZero() {
		attrs = append(attrs, "deadline", t.Deadline, "at_deadline", string(t.DeadlineAction))
	}
	n.Logger.InfoContext(ctx, t.Message, attrs...)
}

// FanOut sends every transition to each of its notifiers in turn.
type FanOut []Notifier

// Notify sends t to every notifier.
func (f FanOut) Notify(ctx context.Context, t Transition) {
	for _, n := range f {
		n.Notify(ctx, t)
	}
}
