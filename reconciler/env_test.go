package reconciler

import (
	"maps"
	"testing"

	"github.com/envwick/envwick/envs"
)

// TestEnvVarsFollowTheFile: the provisioner merges env vars on a patch, so
// a variable removed from the file must be removed explicitly. After each
// edit and one pass the installation has exactly the file's variables plus
// the identity variable, and the next pass finds nothing to change.
func TestEnvVarsFollowTheFile(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	withEnv := func(vars map[string]string) *envs.Environment {
		return env("alpha", func(e *envs.Environment) { e.Spec.Installation.Env = vars })
	}
	h.put(withEnv(map[string]string{"MM_A": "1", "MM_B": "2"}))
	h.pass(r)
	h.settle()
	h.pass(r)

	for _, step := range []struct {
		name string
		vars map[string]string
	}{
		{"one removed, one changed", map[string]string{"MM_B": "3"}},
		{"one added", map[string]string{"MM_B": "3", "MM_C": "x"}},
		{"all removed", nil},
		{"back again", map[string]string{"MM_A": "1"}},
	} {
		h.put(withEnv(step.vars))
		if res := h.pass(r); len(res.Errors) != 0 {
			t.Fatalf("%s: pass errors %v", step.name, res.Errors)
		}
		owned := h.owned()
		if len(owned) != 1 {
			t.Fatalf("%s: %d installations", step.name, len(owned))
		}
		want := map[string]string{IdentityEnvVar: "alpha"}
		maps.Copy(want, step.vars)
		if got := owned[0].MattermostEnv.Strings(); !maps.Equal(got, want) {
			t.Errorf("%s: installation env %v, want %v", step.name, got, want)
		}
		// Removed variables are gone, not kept without a value.
		if len(owned[0].MattermostEnv) != len(want) {
			t.Errorf("%s: installation lists %v", step.name, owned[0].MattermostEnv)
		}
		h.settle()
		if res := h.pass(r); res.Plan.Changes() != 0 {
			t.Errorf("%s: %d changes after the update, want none", step.name, res.Plan.Changes())
		}
	}
}
