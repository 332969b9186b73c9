package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

func itemOf(p *Plan, name string) Item {
	for _, it := range p.Items {
		if it.Name == name {
			return it
		}
	}
	return Item{}
}

// A revert of a deletion within the provisioner's deletion-pending window
// gets the same installation back; after the window, a new one.
func TestRevertedDeletionRestoresTheInstallation(t *testing.T) {
	h := newHarness(t, func(o *provisionersim.Options) { o.DeletionPendingTime = time.Hour })
	r := h.reconciler()
	h.put(env("keepsake"))
	h.pass(r)
	h.settle()
	h.pass(r)
	first := h.readStatus("keepsake").Status.Installation
	if first == nil || first.State != "stable" {
		t.Fatalf("installation %+v, want stable", first)
	}

	// Removed (a housekeeping deletion), then reverted at once: the
	// deletion is still being prepared, so the cancel is retried.
	h.remove("keepsake")
	h.pass(r, PassOptions{Incremental: true})
	h.put(env("keepsake"))
	res := h.pass(r, PassOptions{Incremental: true})
	if it := itemOf(res.Plan, "keepsake"); it.Action != ActionRestore || it.Installation.ID != first.ID {
		t.Fatalf("plan after the revert: %+v, want a restore of %s", it, first.ID)
	}
	if res.Errors["keepsake"] == nil {
		t.Fatalf("a cancel during deletion-pending-requested was accepted")
	}
	h.sim.Advance(2 * time.Minute) // now in deletion-pending
	res = h.pass(r, PassOptions{Incremental: true})
	if err := res.Errors["keepsake"]; err != nil {
		t.Fatalf("restore: %v", err)
	}
	h.settle()
	h.pass(r)
	st := h.readStatus("keepsake").Status
	if st.Installation == nil || st.Installation.ID != first.ID || st.Installation.State != "stable" {
		t.Fatalf("after the restore: %+v, want %s stable", st.Installation, first.ID)
	}
	if owned := h.owned(); len(owned) != 1 || owned[0].ID != first.ID {
		t.Fatalf("owned installations %d, want only %s", len(owned), first.ID)
	}

	// After the window: a new installation.
	h.remove("keepsake")
	h.pass(r)
	for range 5 {
		h.sim.Advance(time.Hour)
	}
	h.put(env("keepsake"))
	res = h.pass(r)
	if it := itemOf(res.Plan, "keepsake"); it.Action != ActionCreate || !strings.Contains(it.Reason, "no installation") {
		t.Fatalf("plan after the window: %+v, want a create", it)
	}
	h.settle()
	h.pass(r)
	if st := h.readStatus("keepsake").Status; st.Installation == nil || st.Installation.ID == first.ID {
		t.Fatalf("after the window the installation is %+v, want a new one", st.Installation)
	}
}
