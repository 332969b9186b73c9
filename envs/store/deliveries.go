package store

import (
	"fmt"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"k8s.io/utils/lru"
)

// TrailerDelivery is the trailer a commit names the webhook delivery (or
// any request ID) it acted on with. The repository's history is the record
// every process shares: a delivery committed by one replica is seen by
// every other on its next fetch, so no local state is needed to recognise
// a replay.
const TrailerDelivery = "Delivery"

// deliveryDepth bounds how many commits of a branch are read for Delivery
// trailers the first time it is scanned, and deliveryMemory how many IDs a
// branch remembers. GitHub offers redelivery for a few days; at thousands
// of bot commits a day both are months.
const (
	deliveryDepth  = 100_000
	deliveryMemory = 100_000
)

// deliveryIndex is the Delivery trailers of each branch's first-parent
// history, read incrementally: a scan walks back from a new head only to
// the head scanned before. Bot commits are pushed fast-forward onto the
// branch, so they are always on its first-parent line.
type deliveryIndex struct {
	mu       sync.Mutex
	branches map[string]*deliveryLog
}

type deliveryLog struct {
	head plumbing.Hash
	// seen holds the newest deliveryMemory IDs (an LRU: a lookup keeps an
	// ID a replay asks about).
	seen *lru.Cache
}

// scan brings a branch's log up to head. Reading objects needs the
// storage generation held (r.gen) by the caller.
func (ix *deliveryIndex) scan(st storer.EncodedObjectStorer, branch string, head plumbing.Hash) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.branches == nil {
		ix.branches = map[string]*deliveryLog{}
	}
	log := ix.branches[branch]
	if log == nil {
		log = &deliveryLog{seen: lru.New(deliveryMemory)}
		ix.branches[branch] = log
	}
	if head == log.head {
		return nil
	}
	var found []string // newest first
	h := head
	for n := 0; !h.IsZero() && h != log.head && n < deliveryDepth; n++ {
		c, err := object.GetCommit(st, h)
		if err != nil {
			return fmt.Errorf("reading the Delivery trailers of %s at %s: %w", branch, h, err)
		}
		found = append(found, deliveryTrailers(c.Message)...)
		if len(c.ParentHashes) == 0 {
			break
		}
		h = c.ParentHashes[0]
	}
	// A rewritten history (a force push) leaves IDs of commits no longer
	// on the branch: they were acted on all the same.
	for i := len(found) - 1; i >= 0; i-- {
		log.seen.Add(found[i], struct{}{})
	}
	log.head = head
	return nil
}

// has reports whether a scanned commit of branch carries delivery id.
func (ix *deliveryIndex) has(branch, id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	log := ix.branches[branch]
	if log == nil {
		return false
	}
	_, ok := log.seen.Get(id)
	return ok
}

// deliveryTrailers returns the Delivery trailer values of a commit
// message: lines "Delivery: <id>" in its last paragraph, where git puts
// trailers (keys compare case-insensitively, as git's do).
func deliveryTrailers(msg string) []string {
	msg = strings.TrimRight(msg, "\n \t")
	block := msg
	if i := strings.LastIndex(msg, "\n\n"); i >= 0 {
		block = msg[i+2:]
	} else {
		return nil // a subject alone has no trailers
	}
	var ids []string
	for _, line := range strings.Split(block, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), TrailerDelivery) {
			if v = strings.TrimSpace(v); v != "" {
				ids = append(ids, v)
			}
		}
	}
	return ids
}

// Delivered reports whether a commit on branch ("" for the default
// branch), as this clone last fetched or pushed it, carries a Delivery
// trailer naming id. It does not contact the remote: inside a Change,
// Tx.Delivered is the check that holds across writers.
func (r *Repo) Delivered(branch, id string) (bool, error) {
	if branch == "" {
		branch = r.branch
	}
	if err := r.scanDeliveries(branch); err != nil {
		return false, err
	}
	return r.deliveries.has(branch, id), nil
}

// scanDeliveries brings the branch's delivery log up to its known head.
func (r *Repo) scanDeliveries(branch string) error {
	r.gen.RLock()
	defer r.gen.RUnlock()
	head, err := r.head(branch)
	if err != nil {
		return err
	}
	return r.deliveries.scan(r.st, branch, head)
}

// batchDeliveries answers Tx.Delivered during a build: the branch's log at
// the build's base plus the commits written earlier in the batch.
type batchDeliveries struct {
	ix     *deliveryIndex
	branch string
	queued map[string]struct{}
}

// deliveredBefore scans the batch's branch up to base (the caller holds
// r.gen) and returns what its Txs ask.
func (r *Repo) deliveredBefore(base plumbing.Hash, batch []*request) (*batchDeliveries, error) {
	b := &batchDeliveries{ix: &r.deliveries, queued: map[string]struct{}{}}
	if len(batch) == 0 {
		return b, nil
	}
	b.branch = batch[0].change.Branch
	if err := r.deliveries.scan(r.st, b.branch, base); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *batchDeliveries) has(id string) bool {
	if _, ok := b.queued[id]; ok {
		return true
	}
	return b.ix.has(b.branch, id)
}

// add records the Delivery trailers of a commit just written.
func (b *batchDeliveries) add(ts []Trailer) {
	for _, t := range ts {
		if strings.EqualFold(t.Key, TrailerDelivery) {
			if v := strings.Join(strings.Fields(t.Value), " "); v != "" {
				b.queued[v] = struct{}{}
			}
		}
	}
}
