package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// RemoteHead sees a push made by someone else before any fetch, over every
// transport, and moves nothing in the local clone.
func TestRemoteHeadSeesOthersPushesWithoutFetching(t *testing.T) {
	for _, rm := range transports(t) {
		t.Run(rm.name, func(t *testing.T) {
			ctx := ctxT(t)
			a := open(t, store.Options{URL: rm.url, Auth: rm.auth})
			if h, err := a.RemoteHead(ctx); err != nil || h != "" {
				t.Fatalf("RemoteHead of an empty remote = %q, %v; want empty", h, err)
			}
			b := open(t, store.Options{URL: rm.url, Auth: rm.auth})
			first := commit(t, b, store.Change{Message: "Create demo", Apply: writeFile(envPath("demo"), envYAML("demo", "jane"))})

			got, err := a.RemoteHead(ctx)
			if err != nil || got != first.Commit {
				t.Fatalf("RemoteHead after another clone's push = %q, %v; want %s", got, err, first.Commit)
			}
			if h, _ := a.Head(""); h != "" {
				t.Fatalf("Head moved to %s without a fetch", h)
			}
			if log := gittest.Log(t, rm.bare, "main"); len(log) != 1 || log[0].Hash.String() != got {
				t.Fatalf("remote main is %v; RemoteHead said %s", log, got)
			}
			if _, err := a.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			// A second push moves it again; reading it twice asks the server
			// for no objects (over HTTP that is counted).
			second := commit(t, b, store.Change{Message: "Create other", Apply: writeFile(envPath("other"), envYAML("other", "jane"))})
			var uploads int64
			if rm.http != nil {
				uploads = rm.http.UploadPacks()
			}
			for range 2 {
				if got, err := a.RemoteHead(ctx); err != nil || got != second.Commit {
					t.Fatalf("RemoteHead = %q, %v; want %s", got, err, second.Commit)
				}
			}
			if rm.http != nil && rm.http.UploadPacks() != uploads {
				t.Errorf("RemoteHead fetched objects: %d upload-packs", rm.http.UploadPacks()-uploads)
			}
			if h, _ := a.Head(""); h != first.Commit {
				t.Fatalf("Head = %s; want %s, the last fetched", h, first.Commit)
			}
		})
	}
}

// A local-only repository has no remote: its own head is the answer.
func TestRemoteHeadOfLocalOnlyRepository(t *testing.T) {
	r := open(t, store.Options{})
	res := commit(t, r, store.Change{Message: "Create demo", Apply: writeFile(envPath("demo"), envYAML("demo", "jane"))})
	if h, err := r.RemoteHead(ctxT(t)); err != nil || h != res.Commit {
		t.Fatalf("RemoteHead = %q, %v; want %s", h, err, res.Commit)
	}
}

// A git client reading a repository on this machine while envwick pushes
// to it sees a branch's old value or its new one, never a half-written
// ref file (git fetch would fail on it).
func TestPushToLocalRepositoryMovesBranchAtomically(t *testing.T) {
	root := t.TempDir()
	bare := gittest.InitBare(t, root, "envs.git")
	r := open(t, store.Options{URL: bare})
	commit(t, r, store.Change{Message: "Create demo", Apply: writeFile(envPath("demo"), envYAML("demo", "jane"))})
	ref := filepath.Join(bare, "refs", "heads", "main")
	stop := make(chan struct{})
	torn := make(chan string, 1)
	go func() {
		defer close(torn)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(ref)
			if err == nil && len(strings.TrimSpace(string(b))) != 40 {
				torn <- string(b)
				return
			}
		}
	}()
	for i := range 30 {
		commit(t, r, store.Change{Message: "Change demo", Apply: writeFile(envPath("demo"), envYAML("demo", fmt.Sprintf("owner%d", i)))})
	}
	close(stop)
	if b, ok := <-torn; ok {
		t.Fatalf("a reader saw the branch as %q", b)
	}
}
