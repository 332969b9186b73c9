package githubbot

import (
	"os"
	"testing"
)

// TestDocsCommandTables fails when docs/github-bot.md's command tables
// differ from the registry of a bot on the default configuration; make docs
// (ENVWICK_UPDATE_DOCS=1) rewrites them.
func TestDocsCommandTables(t *testing.T) {
	r := newRig(t, rigOptions{})
	stale, err := r.bot.commands.SyncDoc("../../docs/github-bot.md", os.Getenv("ENVWICK_UPDATE_DOCS") != "")
	if err != nil {
		t.Fatal(err)
	}
	if stale && os.Getenv("ENVWICK_UPDATE_DOCS") == "" {
		t.Error("docs/github-bot.md's command tables differ from the /env registry; run make docs")
	}
}
