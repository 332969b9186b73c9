package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform"
)

// buildSystem picks the platform by name; an unknown name is refused with
// the names there are, and nothing opened stays open.
func TestBuildSystemPlatforms(t *testing.T) {
	ctx := context.Background()
	remote := filepath.Join(t.TempDir(), "envs.git")
	r, err := store.Open(ctx, store.Options{Dir: remote, Committer: store.Signature{Name: "t", Email: "t@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cfg := func(name string) *systemConfig {
		return &systemConfig{DataDir: t.TempDir(), RepoURL: remote, Branch: store.DefaultBranch, Platform: name,
			OwnerID: "envwick", Domain: "envwick.test", LogFormat: "text", LogLevel: "error"}
	}

	_, err = buildSystem(ctx, cfg("nope"), io.Discard, "t")
	if err == nil || !strings.Contains(err.Error(), `--platform "nope"`) || !strings.Contains(err.Error(), "provisioner, provisionersim") {
		t.Fatalf("unknown platform: %v", err)
	}

	sys, err := buildSystem(ctx, cfg("provisionersim"), io.Discard, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sys.Platform.(webhookPlatform); !ok {
		t.Errorf("the simulator's platform is %T: want one serving webhooks", sys.Platform)
	}
	res, err := sys.Reconciler.Pass(ctx, reconciler.PassOptions{})
	if err != nil {
		t.Fatalf("a pass on the bundled simulator: %v", err)
	}
	if res.Plan == nil {
		t.Fatal("the pass returned no plan")
	}
	var n int
	if err := sys.Platform.ListInstallations(ctx, platform.ListFilter{}, func(p []platform.Installation) error { n += len(p); return nil }); err != nil {
		t.Fatalf("listing on the simulator: %v", err)
	}
	if err := sys.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := sys.Platform.ListInstallations(ctx, platform.ListFilter{}, func([]platform.Installation) error { return nil }); err == nil {
		t.Error("the simulator still answers after Close: it was not released")
	}
}
