// Package committest gives bot tests a real envs repository: a local-only
// envs/store repository in a temporary folder, seeded with files, and
// helpers to read back what was committed.
package committest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// Bot is the committer identity test repositories use.
var Bot = store.Signature{Name: "envwick", Email: "envwick@example.com"}

// Repo is a real envs repository for a test.
type Repo struct {
	*store.Repo
	Dir  string
	base int // commits before the test's own
}

// New opens a local-only repository under t.TempDir, seeded with files
// (path -> content) in one commit, closed when the test ends.
func New(t testing.TB, files map[string]string) *Repo {
	t.Helper()
	return open(t, store.Options{Dir: t.TempDir(), Committer: Bot}, "", files)
}

// Open opens a repository with the given options (for a remote URL), seeded
// like New; remoteDir is the remote's bare repository on disk, where
// Commits and File read what was pushed.
func Open(t testing.TB, o store.Options, remoteDir string, files map[string]string) *Repo {
	t.Helper()
	if o.Committer == (store.Signature{}) {
		o.Committer = Bot
	}
	return open(t, o, remoteDir, files)
}

func open(t testing.TB, o store.Options, dir string, files map[string]string) *Repo {
	t.Helper()
	ctx := context.Background()
	r, err := store.Open(ctx, o)
	if err != nil {
		t.Fatalf("opening envs repository: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	if dir == "" {
		dir = o.Dir
	}
	repo := &Repo{Repo: r, Dir: dir}
	if len(files) > 0 {
		_, err := r.Commit(ctx, store.Change{Message: "Seed", Author: Bot, Apply: func(tx *store.Tx) error {
			for p, c := range files {
				tx.Write(p, []byte(c))
			}
			return nil
		}})
		if err != nil {
			t.Fatalf("seeding envs repository: %v", err)
		}
	}
	repo.base = len(repo.log(t))
	return repo
}

func (r *Repo) log(t testing.TB) []*object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(r.Dir)
	if err != nil {
		t.Fatalf("opening %s: %v", r.Dir, err)
	}
	if _, err := repo.Reference(plumbing.NewBranchReferenceName(r.Branch()), true); errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil // nothing pushed yet
	}
	return gittest.Log(t, r.Dir, r.Branch())
}

// Commits returns the commits made since New, newest first.
func (r *Repo) Commits(t testing.TB) []*object.Commit {
	t.Helper()
	all := r.log(t)
	return all[:len(all)-r.base]
}

// File returns a file at the branch head and whether it exists.
func (r *Repo) File(t testing.TB, path string) (string, bool) {
	t.Helper()
	data, err := gittest.ReadFile(t, r.Dir, r.Branch(), path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return string(data), true
}

// Trailer returns the value of a trailer in a commit message.
func Trailer(c *object.Commit, key string) string {
	for _, line := range strings.Split(c.Message, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return v
		}
	}
	return ""
}
