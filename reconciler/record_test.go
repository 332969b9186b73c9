package reconciler

import (
	"testing"

	"github.com/envwick/envwick/envs"
)

// A removed file leaves no spec; the deleted transition still says whom to
// tell, from what the status branch remembers.
func TestDeletedTransitionCarriesLastKnownSpec(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "same reconciler", true: "after a restart"}[restart], func(t *testing.T) {
			h := newHarness(t)
			r := h.reconciler()
			h.put(env("pr-7", func(e *envs.Environment) {
				e.Spec.Owner.Mattermost = "alice.mm"
				e.Spec.Source.PullRequest = &envs.PullRequestSource{Repository: "acme/app", Number: 7, HeadSHA: "0123456789abcdef"}
			}))
			h.pass(r)
			h.settle()
			h.pass(r)
			h.notes.take()
			if restart {
				r = h.reconciler()
			}
			h.remove("pr-7")
			h.pass(r)
			var deleted *Transition
			for _, tr := range h.notes.take() {
				if tr.Kind == TransitionDeleted && tr.Name == "pr-7" {
					deleted = &tr
				}
			}
			if deleted == nil {
				t.Fatal("no deleted transition")
			}
			if o := deleted.Owner(); o.GitHub != "alice" || o.Mattermost != "alice.mm" {
				t.Errorf("owner %+v", o)
			}
			if pr := deleted.Source().PullRequest; pr == nil || pr.Repository != "acme/app" || pr.Number != 7 || deleted.HeadSHA() != "0123456789abcdef" {
				t.Errorf("source %+v", deleted.Source())
			}
			if deleted.Environment.Status.Installation == nil || deleted.Environment.Name != "pr-7" {
				t.Errorf("environment %+v", deleted.Environment)
			}
		})
	}
}
