package reconciler

import (
	"strings"
	"testing"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// TestRetryCounter: each new envwick.dev/retry value retries a failed
// create or update once; a value the installation carries already is not
// retried again.
func TestRetryCounter(t *testing.T) {
	retried := func(v string) func(*envs.Environment) {
		return func(e *envs.Environment) { e.Annotations = map[string]string{envs.AnnotationRetry: v} }
	}
	carrying := func(v string) func(*platform.Installation) {
		return func(i *platform.Installation) { i.Env[RetryEnvVar] = v }
	}
	for _, tt := range []struct {
		name   string
		env    *Desired
		inst   platform.Installation
		want   Action
		reason string
	}{
		{"failed update, new counter: sent again", testEnv("a", retried("1")),
			testInst("a", "i1", provisioner.StateUpdateFailed), ActionUpdate, "previous update failed: retry"},
		{"failed update, counter applied: stalls", testEnv("a", retried("1")),
			testInst("a", "i1", provisioner.StateUpdateFailed, carrying("1")), ActionNone, "needs attention"},
		{"failed create, new counter: replaced", testEnv("a", retried("2")),
			testInst("a", "i1", provisioner.StateCreationFailed, carrying("1")), ActionDelete, "retry 2 asked: delete failed installation"},
		{"failed create, counter applied: stalls", testEnv("a", retried("2")),
			testInst("a", "i1", provisioner.StateCreationFailed, carrying("2")), ActionNone, "needs attention"},
		{"failed create, no counter: stalls", testEnv("a"),
			testInst("a", "i1", provisioner.StateCreationFailed), ActionNone, "needs attention"},
		{"stable with the counter applied: up to date", testEnv("a", retried("3")),
			testInst("a", "i1", provisioner.StateStable, carrying("3")), ActionNone, "up to date"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(planInput{commit: "c1", desired: map[string]*Desired{"a": tt.env},
				actual: map[string][]platform.Installation{"a": {tt.inst}}, status: map[string]*Status{"a": statusWith("a", "i1")}})
			if len(p.Items) != 1 {
				t.Fatalf("items %+v", p.Items)
			}
			it := p.Items[0]
			if it.Action != tt.want || !strings.Contains(it.Reason, tt.reason) {
				t.Fatalf("action %s (%s), want %s (%s)", it.Action, it.Reason, tt.want, tt.reason)
			}
			if it.Action == ActionUpdate && it.Patch.Env[RetryEnvVar] != tt.env.Env.Annotations[envs.AnnotationRetry] {
				t.Errorf("patch env %v does not carry the counter", it.Patch.Env)
			}
		})
	}
	// A create carries the counter, so the new installation records it.
	req := requestFor(testEnv("a", retried("2")).Env, "a", Owner{OwnerID: "envwick"})
	if req.Env[RetryEnvVar] != "2" || req.Env[IdentityEnvVar] != "a" {
		t.Errorf("create env %v", req.Env)
	}
}

// TestRetryReplacesAFailedCreation runs the hook against the simulator: a
// creation that failed stays failed until the counter is bumped; then the
// failed installation goes, a new one is created carrying the counter, and
// nothing more happens for that value.
func TestRetryReplacesAFailedCreation(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.sim.SetFaults(provisionersim.Faults{CreationFailureRate: 1})
	h.put(env("flaky"))
	for range 3 {
		h.pass(r)
		h.settle()
	}
	insts := h.owned()
	if len(insts) != 1 || insts[0].State != provisioner.StateCreationFailed {
		t.Fatalf("installations %+v: want one, creation-failed", insts)
	}
	failedID := insts[0].ID
	h.sim.SetFaults(provisionersim.Faults{})
	h.put(env("flaky", func(e *envs.Environment) { e.Annotations = map[string]string{envs.AnnotationRetry: "1"} }))
	for range 4 {
		h.pass(r)
		h.settle()
	}
	insts = h.owned()
	if len(insts) != 1 || insts[0].ID == failedID || insts[0].State != provisioner.StateStable || insts[0].MattermostEnv[RetryEnvVar].Value != "1" {
		t.Fatalf("installations %+v: want one new stable installation carrying the counter", insts)
	}
	before := h.mutations.Load()
	h.pass(r)
	if n := h.mutations.Load() - before; n != 0 {
		t.Errorf("%d platform changes after the retry was done", n)
	}
}
