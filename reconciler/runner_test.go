package reconciler

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRunnerReactsToCommitsAndCoalescesTriggers(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	runner := &Runner{Reconciler: r, Interval: time.Hour, Commits: h.repo.Subscribe(ctx), Logger: quietLogger()}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	waitFor(t, "the first pass", runner.Ready)

	// An in-process commit starts a pass at once (the interval is an hour).
	h.put(env("r1"))
	waitFor(t, "the commit's pass", func() bool { return len(h.owned()) == 1 })
	if st := r.StatusOf("r1"); st == nil || st.Status.Installation == nil {
		t.Fatalf("status after the commit's pass: %+v", st)
	}

	// A burst of triggers is a pass or two, not one each.
	before := runner.Passes()
	for range 50 {
		runner.Trigger("test")
	}
	waitFor(t, "a triggered pass", func() bool { return runner.Passes() > before })
	time.Sleep(50 * time.Millisecond) // let a coalesced follow-up, if any, run
	if n := runner.Passes() - before; n > 2 {
		t.Errorf("50 triggers ran %d passes, want them coalesced into at most 2", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("runner did not stop")
	}
}

// A pass asked for by an installation's state change logs the environment
// it belongs to, not only the installation's ID.
func TestRunnerLogNamesTheEnvironment(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("named"))
	h.pass(r)
	id := r.StatusOf("named").Status.Installation.ID
	var log syncBuffer
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	runner := &Runner{Reconciler: r, Interval: time.Hour, Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	go runner.Run(ctx)
	waitFor(t, "the first pass", runner.Ready)
	runner.InstallationChanged(id, "creation-requested", "creation-in-progress")
	want := `trigger="environment named: creation-requested -> creation-in-progress" environment=named installation=` + id
	waitFor(t, "a log line naming the environment: "+want, func() bool { return strings.Contains(log.String(), want) })
}

// syncBuffer is a log destination the runner's goroutine writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A pushed invalid file shows in the log: the pass line counts it, and its
// problem is logged with file:line:column once, not at every pass.
func TestRunnerLogsInvalidFiles(t *testing.T) {
	h := newHarness(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := h.reconciler(func(c *Config) { c.Logger = log })
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	runner := &Runner{Reconciler: r, Interval: time.Hour, Commits: h.repo.Subscribe(ctx), Logger: log}
	go runner.Run(ctx)
	waitFor(t, "the first pass", runner.Ready)
	h.commit("Break one", map[string][]byte{"environments/broken.yaml": []byte(
		"apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: broken\nspec:\n  owner:\n    github: alice\n  installation:\n    size: huge\n")}, nil)
	waitFor(t, "the commit's pass", func() bool { return strings.Contains(logs.String(), "invalid=1") })
	before := runner.Passes()
	runner.Trigger("test")
	waitFor(t, "another pass", func() bool { return runner.Passes() > before })
	out := logs.String()
	if n := strings.Count(out, `problem="environments/broken.yaml:9:11: spec.installation.size:`); n != 1 {
		t.Errorf("the problem was logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "invalid=1"); n < 2 {
		t.Errorf("%d pass lines count the invalid file, want every pass's:\n%s", n, out)
	}
}
