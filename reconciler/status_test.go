package reconciler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store/gittest"
	"github.com/envwick/envwick/reconciler/platform"
)

// One create goes through several platform states, each followed by a
// pass (as the provisioner's webhooks trigger them). With a status
// interval the status branch gets the first status and then the settled
// one after the interval: two commits, none on a pass with nothing new.
func TestStatusWritesCoalesced(t *testing.T) {
	const interval = 30 * time.Second
	h := newHarness(t)
	r := h.reconciler(func(c *Config) { c.StatusInterval = interval })
	commits := func() int { return len(gittest.Log(t, h.dir, StatusBranch)) }
	h.put(env("alpha"), env("beta"))
	if res := h.pass(r); !res.StatusWritten || commits() != 1 {
		t.Fatalf("first status: written %v, %d commits", res.StatusWritten, commits())
	}
	states := map[string]bool{}
	for range 8 {
		h.sim.Advance(15 * time.Second)
		h.clock.Advance(time.Second)
		if res := h.pass(r); res.StatusWritten {
			t.Fatalf("status written %s after the last write, within the interval", time.Second)
		}
		states[r.StatusOf("alpha").Status.Installation.State] = true
	}
	if len(states) < 2 {
		t.Fatalf("the platform went through %v only", states)
	}
	// In memory, status is current: notices and bots see it at once.
	if got := readyReasonOf(r.StatusOf("alpha")); got != envs.ReasonAvailable {
		t.Fatalf("in memory: Ready reason %s, want %s", got, envs.ReasonAvailable)
	}
	if got := readyReasonOf(h.readStatus("alpha")); got == envs.ReasonAvailable {
		t.Fatal("the branch has the settled status before the interval passed")
	}
	if !hasKind(h.notes.take(), "alpha", TransitionReady) {
		t.Error("ready was not announced while its status waited")
	}
	h.clock.Advance(interval)
	if res := h.pass(r); !res.StatusWritten {
		t.Fatal("a pass after the interval did not write what was held back")
	}
	if got := readyReasonOf(h.readStatus("alpha")); got != envs.ReasonAvailable {
		t.Errorf("on the branch: Ready reason %s, want %s", got, envs.ReasonAvailable)
	}
	for range 3 {
		h.clock.Advance(interval)
		if res := h.pass(r); res.StatusWritten {
			t.Fatal("a pass with nothing new wrote status")
		}
	}
	if n := commits(); n != 2 {
		t.Errorf("%d status commits for two creates, want 2 (one per pass, one per environment per interval)", n)
	}
	// Removing a file removes its status at once.
	h.remove("beta")
	h.clock.Advance(time.Second)
	h.pass(r)
	if h.readStatus("beta") != nil || commits() != 3 {
		t.Errorf("status of a removed environment kept (%d commits)", commits())
	}
}

func hasKind(ts []Transition, name string, kind TransitionKind) bool {
	for _, t := range ts {
		if t.Name == name && t.Kind == kind {
			return true
		}
	}
	return false
}

// envwick does not record a create's intent before the create call: the
// installation's name is decided by the environment and its generation,
// and the identity variable goes out in the create request itself, so a
// crash between the create call and the status write leaves an
// installation the next pass attributes and adopts. Never a second one.
func TestCrashBetweenCreateAndStatusWrite(t *testing.T) {
	for _, c := range []struct {
		name     string
		platform func(h *harness) platform.Platform
		recreate bool
	}{
		{name: "answer received", platform: func(h *harness) platform.Platform { return h.platform }},
		{name: "answer lost", platform: func(h *harness) platform.Platform { return &lossyPlatform{Platform: h.platform} }},
		{name: "recreated environment, next generation", recreate: true, platform: func(h *harness) platform.Platform { return h.platform }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.put(env("gamma"))
			want := "gamma"
			if c.recreate {
				// The environment had an installation that is gone.
				r := h.reconciler()
				h.pass(r)
				h.settle()
				h.pass(r)
				if err := h.client.DeleteInstallation(h.ctx, h.owned()[0].ID); err != nil {
					t.Fatal(err)
				}
				h.settle()
				want = "gamma-2"
			}
			before := h.readStatus("gamma")
			crashing := &crashingRepo{Repository: h.storeRep}
			r, err := New(crashing, c.platform(h), h.config())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Pass(h.ctx, PassOptions{}); err == nil {
				t.Fatal("the pass did not crash")
			}
			if got := len(h.owned()); got != 1 {
				t.Fatalf("%d installations after the create, want 1", got)
			}
			if after := h.readStatus("gamma"); string(statusKey(after)) != string(statusKey(before)) {
				t.Fatal("the status was written despite the crash")
			}
			// The restart.
			r = h.reconciler()
			res := h.pass(r)
			if len(res.Plan.Items) != 1 || res.Plan.Items[0].Action != ActionAdopt {
				t.Fatalf("after the restart: %+v, want one adopt", res.Plan.Items)
			}
			h.settle()
			h.pass(r)
			owned := h.owned()
			if len(owned) != 1 || owned[0].Name != want {
				t.Fatalf("installations %v, want only %s", names(owned), want)
			}
			st := h.readStatus("gamma")
			if st.Status.Installation == nil || st.Status.Installation.ID != owned[0].ID || st.Reconciler.Generation != generationOf("gamma", want) {
				t.Errorf("status after adoption: %+v", st)
			}
		})
	}
}

// crashingRepo fails every status write, as a process that dies before it
// writes status.
type crashingRepo struct{ Repository }

func (c *crashingRepo) WriteStatus(context.Context, string, map[string][]byte, []string) error {
	return errors.New("crashed before writing status")
}

// A status write held back by the interval is written when the interval is
// over, by a pass the runner starts then, without waiting for a periodic
// pass (an hour here) or another trigger.
func TestRunnerWritesHeldStatusWhenDue(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler(func(c *Config) { c.StatusInterval, c.Clock = 2*time.Second, systemClock{} })
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	runner := &Runner{Reconciler: r, Interval: time.Hour, Commits: h.repo.Subscribe(ctx), Logger: quietLogger()}
	go runner.Run(ctx)
	waitFor(t, "the first pass", runner.Ready)
	h.put(env("held"))
	waitFor(t, "the first status", func() bool { return h.readStatus("held") != nil })
	h.settle()
	before := runner.Passes()
	runner.Trigger("test") // sees the installation stable: held back, within the interval of the first write
	waitFor(t, "the triggered pass", func() bool { return runner.Passes() > before })
	if _, held := r.heldFor(); !held {
		t.Fatal("the settled status was not held back")
	}
	if readyReasonOf(h.readStatus("held")) == envs.ReasonAvailable {
		t.Fatal("the settled status was written within the interval")
	}
	waitFor(t, "the held status on the branch", func() bool {
		st := h.readStatus("held")
		return st != nil && readyReasonOf(st) == envs.ReasonAvailable
	})
}
