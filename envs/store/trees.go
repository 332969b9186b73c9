package store

import (
	"container/list"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeCacheEntries bounds the decoded trees kept, in entries (about 70
// bytes each, with the index by name): the root and environment folders of
// the commits a pass touches. A folder of 10,000 environment files is read
// three or four times by a pass after one change (the load, the changes
// since the last pass, the file's last change), at the new commit and the
// one before; a walk back through history keeps no more than this.
const treeCacheEntries = 32 << 10

// tree is a decoded git tree, immutable once made (go-git's object.Tree
// caches look-ups inside itself, so it cannot be shared between
// goroutines). Its index by name is built on the first look-up: a load
// only walks the entries.
type tree struct {
	entries []object.TreeEntry // in git's order
	once    sync.Once
	byName  map[string]int
}

// entry returns the entry called name.
func (t *tree) entry(name string) (object.TreeEntry, bool) {
	t.once.Do(func() {
		t.byName = make(map[string]int, len(t.entries))
		for i, e := range t.entries {
			t.byName[e.Name] = i
		}
	})
	i, ok := t.byName[name]
	if !ok {
		return object.TreeEntry{}, false
	}
	return t.entries[i], true
}

// getTree returns the tree with hash h, decoded once and shared.
func (r *Repo) getTree(h plumbing.Hash) (*tree, error) {
	if t, ok := r.trees.get(h); ok {
		return t, nil
	}
	ot, err := object.GetTree(r.st, h)
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h, err)
	}
	t := &tree{entries: ot.Entries}
	r.trees.add(h, t)
	return t, nil
}

// treeCache keeps the most recently used trees up to a number of entries
// in all.
type treeCache struct {
	mu      sync.Mutex
	max     int
	entries int
	order   list.List // of *cachedTree, most recent first
	byHash  map[plumbing.Hash]*list.Element
}

type cachedTree struct {
	hash plumbing.Hash
	t    *tree
}

func newTreeCache(max int) *treeCache {
	return &treeCache{max: max, byHash: map[plumbing.Hash]*list.Element{}}
}

func (c *treeCache) get(h plumbing.Hash) (*tree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byHash[h]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cachedTree).t, true
}

func (c *treeCache) add(h plumbing.Hash, t *tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byHash[h]; ok || len(t.entries) > c.max {
		return
	}
	c.byHash[h] = c.order.PushFront(&cachedTree{hash: h, t: t})
	c.entries += len(t.entries)
	for c.entries > c.max {
		old := c.order.Back()
		ct := old.Value.(*cachedTree)
		c.order.Remove(old)
		delete(c.byHash, ct.hash)
		c.entries -= len(ct.t.entries)
	}
}

// find returns the entry at path under the tree root; ok is false when
// there is none.
func (r *Repo) find(root plumbing.Hash, path string) (e object.TreeEntry, ok bool, err error) {
	h := root
	parts := splitPath(path)
	for i, part := range parts {
		t, err := r.getTree(h)
		if err != nil {
			return e, false, err
		}
		if e, ok = t.entry(part); !ok || (i < len(parts)-1 && e.Mode != filemode.Dir) {
			return object.TreeEntry{}, false, nil
		}
		h = e.Hash
	}
	return e, true, nil
}
