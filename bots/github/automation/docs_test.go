package automation

import (
	"os"
	"testing"
)

// TestDocsCommandTable fails when docs/pr-automation.md's command table
// differs from the registry; make docs (ENVWICK_UPDATE_DOCS=1) rewrites it.
func TestDocsCommandTable(t *testing.T) {
	r := newRig(t, Repository{})
	rewrite := os.Getenv("ENVWICK_UPDATE_DOCS") != ""
	stale, err := r.auto.commands.SyncDoc("../../../docs/pr-automation.md", rewrite)
	if err != nil {
		t.Fatal(err)
	}
	if stale && !rewrite {
		t.Error("docs/pr-automation.md's command table differs from the registry; run make docs")
	}
}
