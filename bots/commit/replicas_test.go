package commit

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// replica is one envwick process's view: a clone of its own of the shared
// remote, and a Committer with a ledger of its own.
func replica(t *testing.T, url, bare string, files map[string]string) (*committest.Repo, *Committer) {
	t.Helper()
	repo := committest.Open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), "clone")}, bare, files)
	return repo, New(repo, Options{Ledger: MemoryLedger()})
}

func TestOneDeliveryToTwoReplicasMakesOneCommit(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	bare := gittest.InitBare(t, root, "envs.git")
	url := d.URL("envs.git")
	e := testEnv("conf42")
	e.Spec.Lifecycle.TTL = envs.NewDuration(7 * 24 * time.Hour)
	data, err := marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	repoA, a := replica(t, url, bare, map[string]string{"environments/conf42.yaml": string(data)})
	_, b := replica(t, url, bare, nil)

	// Extending adds to the TTL: applied twice it would show, so only the
	// delivery check keeps the second replica from committing.
	const rounds = 5
	for i := range rounds {
		id := fmt.Sprintf("delivery-%d", i)
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]Result, 2)
		for j, c := range []*Committer{a, b} {
			wg.Go(func() {
				<-start
				res, err := c.Update(context.Background(), withDelivery(jane, id), "conf42", Extend(24*time.Hour, c.Now(), 0))
				if err != nil {
					t.Errorf("replica %d, %s: %v", j, id, err)
				}
				results[j] = res
			})
		}
		close(start)
		wg.Wait()
		changed, dup := 0, 0
		for _, r := range results {
			if r.Changed {
				changed++
			}
			if r.Duplicate {
				dup++
			}
		}
		if changed != 1 || dup != 1 {
			t.Fatalf("%s sent to both replicas: results %+v; want one commit and one duplicate", id, results)
		}
	}

	commits := repoA.Commits(t)
	if len(commits) != rounds {
		t.Fatalf("%d commits; want %d, one per delivery", len(commits), rounds)
	}
	for i, c := range commits {
		if got, want := committest.Trailer(c, TrailerDelivery), fmt.Sprintf("delivery-%d", rounds-1-i); got != want {
			t.Errorf("commit %d carries Delivery %q; want %q", i, got, want)
		}
	}
	body, _ := repoA.File(t, "environments/conf42.yaml")
	got, err := parse("environments/conf42.yaml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ttl := got.Spec.Lifecycle.TTL.Duration; ttl != (7+rounds)*24*time.Hour {
		t.Errorf("TTL = %s; want %dd: each delivery extended once", envs.FormatDuration(ttl), 7+rounds)
	}

	// A replica started afresh (new clone, empty ledger) recognises a
	// replay from the history alone.
	_, fresh := replica(t, url, bare, nil)
	res, err := fresh.Update(context.Background(), withDelivery(jane, "delivery-0"), "conf42", Extend(24*time.Hour, fresh.Now(), 0))
	if err != nil || !res.Duplicate || res.Changed {
		t.Fatalf("replay on a fresh replica = %+v, %v; want a duplicate", res, err)
	}
	if !fresh.ledger.Seen("delivery-0") {
		t.Error("the replay found in history was not cached in the ledger")
	}
	if n := len(repoA.Commits(t)); n != rounds {
		t.Errorf("%d commits after the replay; want %d", n, rounds)
	}
}
