package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

var errDuplicate = errors.New("delivery already committed")

// onceFor is a change writing path unless delivery id is already in the
// history it applies to.
func onceFor(id, path string, data []byte) store.Change {
	return store.Change{
		Message:  "Create " + path,
		Trailers: []store.Trailer{{Key: "Requested-by", Value: "jane"}, {Key: store.TrailerDelivery, Value: id}},
		Apply: func(tx *store.Tx) error {
			if tx.Delivered(id) {
				return errDuplicate
			}
			tx.Write(path, data)
			return nil
		},
	}
}

func TestDeliveredAcrossClonesOfOneRemote(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	bare := gittest.InitBare(t, root, "envs.git")
	url := d.URL("envs.git")
	seed := open(t, store.Options{URL: url})
	commit(t, seed, store.Change{Message: "Seed", Apply: writeFile("README", []byte("envs\n"))})

	// Writers with clones of their own race the same deliveries: each lands
	// once, whoever wins, and the losers learn it from the remote.
	const writers, deliveries = 4, 5
	clones := make([]*store.Repo, writers)
	for i := range clones {
		clones[i] = open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), fmt.Sprint("clone", i))})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed := map[string]int{}
	for d := range deliveries {
		id := fmt.Sprintf("delivery-%d", d)
		for w, c := range clones {
			wg.Go(func() {
				// Each writer writes a file of its own, so only the
				// delivery check keeps a second commit out.
				res, err := c.Commit(ctxT(t), onceFor(id, fmt.Sprintf("environments/%s-%d.yaml", id, w), envYAML(fmt.Sprintf("%s-%d", id, w), "jane")))
				switch {
				case errors.Is(err, errDuplicate):
				case err != nil:
					t.Errorf("writer %d, %s: %v", w, id, err)
				case res.NoChange:
					t.Errorf("writer %d, %s: no change; want a commit or the duplicate error", w, id)
				default:
					mu.Lock()
					landed[id]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	for d := range deliveries {
		if id := fmt.Sprintf("delivery-%d", d); landed[id] != 1 {
			t.Errorf("%s landed %d times; want once", id, landed[id])
		}
	}
	// The remote holds one commit per delivery (and the seed).
	if n := len(gittest.Log(t, bare, "main")); n != deliveries+1 {
		t.Errorf("remote has %d commits; want %d", n, deliveries+1)
	}

	// A clone opened afterwards, and one that only fetched, know them all
	// without having written any.
	late := open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), "late")})
	for _, r := range []*store.Repo{late, seed} {
		if _, err := r.Sync(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		for d := range deliveries {
			if ok, err := r.Delivered("", fmt.Sprintf("delivery-%d", d)); err != nil || !ok {
				t.Errorf("Delivered(delivery-%d) = %v, %v; want true", d, ok, err)
			}
		}
		if ok, _ := r.Delivered("", "delivery-never"); ok {
			t.Error("Delivered(delivery-never) = true; want false")
		}
	}
}

func TestDeliveredSeesTheSameBatchAndOnlyTrailers(t *testing.T) {
	r := open(t, store.Options{})
	// A Delivery line in the body is not a trailer; one in the last
	// paragraph is, whatever the key's case.
	commit(t, r, store.Change{Message: "Note\n\nDelivery: in-body\nis prose here\n\nsigned-off-by: x", Apply: writeFile("a", []byte("a"))})
	commit(t, r, store.Change{Message: "Other\n\ndelivery: lower-case", Apply: writeFile("b", []byte("b"))})
	commit(t, r, store.Change{Message: "Delivery: subject-only", Apply: writeFile("c", []byte("c"))})
	for id, want := range map[string]bool{"in-body": false, "lower-case": true, "subject-only": false} {
		if ok, err := r.Delivered("", id); err != nil || ok != want {
			t.Errorf("Delivered(%s) = %v, %v; want %v", id, ok, err, want)
		}
	}

	// Two changes of one delivery queued together: the second sees the
	// first, though neither is on the branch yet.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = r.Commit(ctxT(t), onceFor("batched", fmt.Sprintf("f%d", i), []byte("x")))
		})
	}
	wg.Wait()
	dups := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, errDuplicate):
			dups++
		case err != nil:
			t.Fatal(err)
		}
	}
	if dups != 1 {
		t.Errorf("%d of two changes of one delivery were refused; want 1 (errors %v)", dups, errs)
	}
}

// A change refused on a clone that has not fetched since another writer
// pushed is tried again on the remote's head: nothing would have told it
// otherwise, as it had nothing to push.
func TestStaleCloneConfirmsARefusalOnTheRemoteHead(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	gittest.InitBare(t, root, "envs.git")
	url := d.URL("envs.git")
	a := open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), "a")})
	commit(t, a, store.Change{Message: "Seed", Apply: writeFile("README", []byte("envs\n"))})
	b := open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), "b")})
	commit(t, a, store.Change{Message: "Create demo", Apply: writeFile(envPath("demo"), envYAML("demo", "jane"))})

	errMissing := errors.New("no such environment")
	res, err := b.Commit(ctxT(t), store.Change{Message: "Update demo", Apply: func(tx *store.Tx) error {
		if _, ok := tx.Read(envPath("demo")); !ok {
			return errMissing
		}
		tx.Write(envPath("demo"), envYAML("demo", "joe"))
		return nil
	}})
	if err != nil || res.NoChange {
		t.Fatalf("update on a stale clone = %+v, %v; want it applied on the remote's head", res, err)
	}
	// A refusal that holds on the remote's head too still comes back.
	_, err = b.Commit(ctxT(t), store.Change{Message: "Update gone", Apply: func(tx *store.Tx) error { return errMissing }})
	if !errors.Is(err, errMissing) {
		t.Fatalf("refusal = %v; want %v", err, errMissing)
	}
}
