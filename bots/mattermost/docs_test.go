package mattermost

import (
	"os"
	"testing"
)

// TestDocsCommandTables fails when docs/chat-bot.md's command tables differ
// from the registry; make docs (ENVWICK_UPDATE_DOCS=1) rewrites them.
func TestDocsCommandTables(t *testing.T) {
	stale, err := newCommands().SyncDoc("../../docs/chat-bot.md", os.Getenv("ENVWICK_UPDATE_DOCS") != "")
	if err != nil {
		t.Fatal(err)
	}
	if stale && os.Getenv("ENVWICK_UPDATE_DOCS") == "" {
		t.Error("docs/chat-bot.md's command tables differ from the /cloud registry; run make docs")
	}
}
