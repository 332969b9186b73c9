package reconciler

import (
	"strings"
	"testing"
)

// TestPlatformHealth reads the simulator over its real API, and reports a
// provisioner that does not answer as an error.
func TestPlatformHealth(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("health"))
	h.pass(r)
	h.settle()
	h.pass(r)
	if n := len(h.owned()); n != 1 {
		t.Fatalf("%d installations after a pass", n)
	}
	got, err := r.PlatformHealth(h.ctx)
	if err != nil || !strings.Contains(got, "the provisioner answers (1 installations on the first page") {
		t.Fatalf("health %q, %v", got, err)
	}
	h.srv.Close()
	if got, err := r.PlatformHealth(h.ctx); err == nil {
		t.Fatalf("health of a closed provisioner: %q", got)
	}
}
