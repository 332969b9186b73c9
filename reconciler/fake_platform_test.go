package reconciler

import (
	"testing"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/fake"
)

// TestLifecycleOnAnotherPlatform drives a whole lifecycle on the fake
// platform, whose state names are not the provisioner's: the reconciler
// must act and notify on phases alone.
func TestLifecycleOnAnotherPlatform(t *testing.T) {
	h := newHarness(t)
	p := &fake.Platform{}
	r, err := New(h.storeRep, p, h.config())
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, wantAction Action, wantTransition TransitionKind, wantPhase platform.Phase) {
		t.Helper()
		res := h.pass(r)
		if got := res.Plan.Items[0].Action; got != wantAction {
			t.Fatalf("%s: action %s, want %s (%s)", what, got, wantAction, res.Plan.Items[0].Reason)
		}
		p.Settle()
		h.pass(r)
		if k := kinds(h.notes.take()); k["alpha"] != wantTransition {
			t.Fatalf("%s: transitions %v, want alpha %s", what, k, wantTransition)
		}
		st := h.readStatus("alpha")
		if st.Status.Installation == nil || platform.Phase(st.Status.Installation.Phase) != wantPhase {
			t.Fatalf("%s: recorded installation %+v, want phase %s", what, st.Status.Installation, wantPhase)
		}
	}
	h.put(env("alpha"))
	step("create", ActionCreate, TransitionReady, platform.PhaseStable)
	h.put(env("alpha", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	step("update", ActionUpdate, TransitionUpdated, platform.PhaseStable)
	h.put(env("alpha", func(e *envs.Environment) {
		e.Spec.Installation.Version = "10.6.0"
		e.Spec.State = envs.StateHibernated
	}))
	step("hibernate", ActionHibernate, TransitionHibernated, platform.PhaseHibernated)
	h.put(env("alpha", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	step("wake up", ActionWakeUp, TransitionWokeUp, platform.PhaseStable)
	if got := readyReasonOf(h.readStatus("alpha")); got != envs.ReasonAvailable {
		t.Fatalf("ready reason %s, want %s", got, envs.ReasonAvailable)
	}
	if n := p.Len(); n != 1 {
		t.Fatalf("%d installations on the platform, want 1", n)
	}
}
