package store_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// A pull request from a fork is only on refs/pull/N/head: FetchRef brings
// it in; PreviewMerge then gives the tree merging it would make, with main
// having moved on since the branch was cut, and reports the file both
// sides changed.
func TestFetchRefAndPreviewMerge(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	for _, tc := range []struct{ name, bare, url string }{
		{"git-daemon", gittest.InitBare(t, root, "daemon.git"), d.URL("daemon.git")},
		{"local-path", gittest.InitBare(t, root, "path.git"), filepath.Join(root, "path.git")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := filepath.Join(t.TempDir(), "work")
			gittest.Git(t, filepath.Dir(work), "clone", "-q", tc.bare, work)
			gittest.Git(t, work, "checkout", "-q", "-b", "main")
			gittest.WriteFile(t, work, envPath("a"), envYAML("a", "jane"))
			gittest.WriteFile(t, work, envPath("b"), envYAML("b", "jane"))
			gittest.WriteFile(t, work, envPath("conflict"), envYAML("conflict", "jane"))
			gittest.Git(t, work, "add", "-A")
			gittest.Git(t, work, "commit", "-q", "-m", "Seed")
			gittest.Git(t, work, "push", "-q", "origin", "main")

			// The pull request: changes a, removes b, adds team/c, edits
			// conflict.
			gittest.Git(t, work, "checkout", "-q", "-b", "feature")
			gittest.WriteFile(t, work, envPath("a"), envYAML("a", "john"))
			gittest.Git(t, work, "rm", "-q", envPath("b"))
			gittest.WriteFile(t, work, "environments/team/c.yaml", envYAML("c", "jane"))
			gittest.WriteFile(t, work, envPath("conflict"), envYAML("conflict", "john"))
			gittest.Git(t, work, "add", "-A")
			gittest.Git(t, work, "commit", "-q", "-m", "Feature")
			head := gittest.Git(t, work, "rev-parse", "HEAD")
			gittest.Git(t, work, "push", "-q", "origin", "HEAD:refs/pull/7/head")

			// Main moves on meanwhile.
			gittest.Git(t, work, "checkout", "-q", "main")
			gittest.WriteFile(t, work, envPath("d"), envYAML("d", "jane"))
			gittest.WriteFile(t, work, envPath("conflict"), envYAML("conflict", "ann"))
			gittest.Git(t, work, "add", "-A")
			gittest.Git(t, work, "commit", "-q", "-m", "Main moves on")
			gittest.Git(t, work, "push", "-q", "origin", "main")

			r := open(t, store.Options{URL: tc.url})
			ctx := ctxT(t)
			base, err := r.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Load(ctx, head); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the fork's head is not on a branch, yet Load found it: %v", err)
			}
			if err := r.FetchRef(ctx, head, "refs/pull/8/head"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FetchRef of a ref that is not there: %v, want ErrNotFound", err)
			}
			if err := r.FetchRef(ctx, head, "refs/pull/7/head"); err != nil {
				t.Fatal(err)
			}
			m, err := r.PreviewMerge(ctx, base, head)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"environments/a.yaml", "environments/b.yaml", "environments/conflict.yaml", "environments/team/c.yaml"}; !slices.Equal(m.Changed, want) {
				t.Errorf("Changed = %v, want %v", m.Changed, want)
			}
			if want := []string{"environments/conflict.yaml"}; !slices.Equal(m.Conflicts, want) {
				t.Errorf("Conflicts = %v, want %v", m.Conflicts, want)
			}
			snap, err := r.Load(ctx, m.Commit)
			if err != nil {
				t.Fatal(err)
			}
			owners := map[string]string{}
			for name, e := range snap.Environments {
				if e.Err != nil {
					t.Fatalf("%s: %v", name, e.Err)
				}
				owners[name] = e.Env.Spec.Owner.GitHub
			}
			want := map[string]string{"a": "john", "c": "jane", "d": "jane", "conflict": "ann"}
			if len(owners) != len(want) {
				t.Errorf("merged environments = %v, want %v", owners, want)
			}
			for k, v := range want {
				if owners[k] != v {
					t.Errorf("merged %s owned by %q, want %q (all: %v)", k, owners[k], v, owners)
				}
			}
			// The preview moved nothing.
			if h, _ := r.Head(""); h != base {
				t.Errorf("main moved to %s", h)
			}
			if got := gittest.Git(t, tc.bare, "rev-parse", "main"); got != base {
				t.Errorf("the remote's main is %s, want %s", got, base)
			}
			// Resolve reads branches as the remote has them, and hashes.
			for rev, want := range map[string]string{"main": base, head[:10]: head, base: base} {
				if got, err := r.Resolve(ctx, rev); err != nil || got != want {
					t.Errorf("Resolve(%s) = %s, %v; want %s", rev, got, err, want)
				}
			}
			if _, err := r.Resolve(ctx, "no-such-branch"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Resolve of nothing: %v", err)
			}
		})
	}
}
