package store

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The tree cache keeps the most recently used trees up to a number of
// entries in all.
func TestTreeCacheBoundsEntries(t *testing.T) {
	c := newTreeCache(10)
	tr := func(n int) *tree { return &tree{entries: make([]object.TreeEntry, n)} }
	h := func(b byte) plumbing.Hash { return plumbing.Hash{b} }
	c.add(h(1), tr(4))
	c.add(h(2), tr(4))
	if _, ok := c.get(h(1)); !ok { // 1 is now the most recent
		t.Fatal("a tree that fits was not kept")
	}
	c.add(h(3), tr(4)) // 12 entries: the least recent (2) goes
	if _, ok := c.get(h(2)); ok {
		t.Error("the least recently used tree was kept over the bound")
	}
	for _, b := range []byte{1, 3} {
		if _, ok := c.get(h(b)); !ok {
			t.Errorf("tree %d was dropped", b)
		}
	}
	c.add(h(4), tr(11)) // larger than the whole cache: not kept, nothing dropped
	if _, ok := c.get(h(4)); ok || c.entries != 8 {
		t.Errorf("an oversized tree: kept %v, %d entries", ok, c.entries)
	}
}
