package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/envwick/envwick/envs/examples"
	"github.com/envwick/envwick/envs/store"
)

// The dev repository is seeded from the examples bundled in the binary, so
// 'envwick dev' works from any folder, and a second start keeps what is there.
func TestEnsureDevRepoSeedsBundledExamples(t *testing.T) {
	ctx := context.Background()
	want, err := fs.Glob(examples.FS(), "environments/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nested, _ := fs.Glob(examples.FS(), "environments/*/*.yaml")
	want = append(want, nested...)
	if len(want) == 0 {
		t.Fatal("no bundled example environments")
	}

	// Run from an unrelated folder: nothing on disk to find relative to it.
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "envs.git")
	n, err := ensureDevRepo(ctx, path, "")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("seeded %d files, want %d (%v)", n, len(want), want)
	}

	repo, err := store.Open(ctx, store.Options{Dir: path})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	head, err := repo.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := repo.Load(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Environments) != len(want) {
		t.Fatalf("repository holds %d environments, want %d", len(snap.Environments), len(want))
	}
	for name, e := range snap.Environments {
		if e.Err != nil {
			t.Errorf("%s: %v", name, e.Err)
		}
	}

	again, err := ensureDevRepo(ctx, path, "")
	if err != nil || again != 0 {
		t.Fatalf("second start seeded %d (err %v), want 0: an existing repository is kept", again, err)
	}
}

// An explicit seed folder that does not exist is an error, not an empty
// repository that a later start would never seed.
func TestEnsureDevRepoMissingSeedFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "envs.git")
	_, err := ensureDevRepo(context.Background(), path, filepath.Join(t.TempDir(), "nope"))
	if err == nil {
		t.Fatal("no error for a missing seed folder")
	}
	// Nothing is created, so a corrected second start seeds the repository.
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Fatalf("a failed seed left %s behind (stat: %v)", path, statErr)
	}
}
