package reconciler

import (
	"context"
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
