package reconciler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// A push to the remote by someone else, with no webhook, starts a pass
// through the poll of the remote head; a head already read starts none.
func TestRunnerPollsTheRemoteHead(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	for _, url := range []string{gittest.InitBare(t, root, "path.git"), d.URL(filepath.Base(gittest.InitBare(t, root, "daemon.git")))} {
		t.Run(filepath.Base(url), func(t *testing.T) {
			ctx, cancel := context.WithCancel(h.ctx)
			defer cancel()
			open := func(dir string) *store.Repo {
				r, err := store.Open(ctx, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), dir)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				return r
			}
			person := open("person")
			put := func(name string) {
				data, err := envs.Marshal(env(name))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := person.Commit(ctx, store.Change{Message: "Create " + name, Apply: func(tx *store.Tx) error {
					tx.Write(envs.PathFor(name), data)
					return nil
				}}); err != nil {
					t.Fatal(err)
				}
			}
			first := "seed-" + filepath.Base(url)[:4]
			put(first) // a pass needs a branch to read
			clone := open("envwick")
			cfg := h.config()
			r, err := New(&StoreRepository{Repo: clone}, h.platform, cfg)
			if err != nil {
				t.Fatal(err)
			}
			runner := &Runner{Reconciler: r, Interval: time.Hour, Poll: clone.RemoteHead, PollInterval: 10 * time.Millisecond, Logger: quietLogger()}
			go runner.Run(ctx)
			waitFor(t, "the first pass", runner.Ready)

			if r.StatusOf(first) == nil {
				t.Fatalf("the first pass did not see %s", first)
			}
			name := "poll-" + filepath.Base(url)[:4]
			put(name)
			waitFor(t, "the pass the poll started", func() bool { return r.StatusOf(name) != nil })

			// Nothing new on the remote: polls keep reading the same head
			// and start nothing.
			before := runner.Passes()
			time.Sleep(100 * time.Millisecond)
			if n := runner.Passes() - before; n > 1 {
				t.Errorf("%d passes while the remote head stayed put", n)
			}
		})
	}
}
