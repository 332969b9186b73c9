package store

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"

	"github.com/envwick/envwick/envs"
)

// batchTree is a tree being edited in memory across the commits of one
// push. Only the folders a change touches are decoded and re-encoded, so a
// commit costs what it changes plus the size of the folders it touches, not
// the size of the repository.
type batchTree struct {
	st   storage.Storer
	root *treeNode
	// envs maps environment names to their paths; built on first use and
	// kept up to date by apply.
	envs map[string][]string
	// written is every object stored while building, children before the
	// objects naming them: what a push sends.
	written []plumbing.Hash
	seen    map[plumbing.Hash]struct{}
	// parse parses the environment file at path with content blob (data,
	// or read from storage when nil), through the Repo's cache of parsed
	// files.
	parse func(path string, blob plumbing.Hash, data []byte) (envs.Document, error)
}

type treeNode struct {
	// hash is the stored tree this node holds; zero once it is edited (or
	// for a new folder) until write stores it again.
	hash    plumbing.Hash
	loaded  bool
	entries map[string]*treeEntry
}

type treeEntry struct {
	mode filemode.FileMode
	hash plumbing.Hash // blobs
	dir  *treeNode     // folders
}

func newBatchTree(st storage.Storer, tree plumbing.Hash) *batchTree {
	return &batchTree{
		st:   st,
		root: &treeNode{hash: tree, loaded: tree.IsZero(), entries: map[string]*treeEntry{}},
		seen: map[plumbing.Hash]struct{}{},
	}
}

func (b *batchTree) load(n *treeNode) error {
	if n.loaded {
		return nil
	}
	t, err := object.GetTree(b.st, n.hash)
	if err != nil {
		return fmt.Errorf("reading tree %s: %w", n.hash, err)
	}
	for _, e := range t.Entries {
		te := &treeEntry{mode: e.Mode, hash: e.Hash}
		if e.Mode == filemode.Dir {
			te.dir = &treeNode{hash: e.Hash, entries: map[string]*treeEntry{}}
		}
		n.entries[e.Name] = te
	}
	n.loaded = true
	return nil
}

// dir returns the folder at p ("" for the root), or nil when there is none.
func (b *batchTree) dir(p string) (*treeNode, error) {
	n := b.root
	if p == "" {
		return n, b.load(n)
	}
	for _, part := range strings.Split(p, "/") {
		if err := b.load(n); err != nil {
			return nil, err
		}
		e := n.entries[part]
		if e == nil || e.dir == nil {
			return nil, nil
		}
		n = e.dir
	}
	return n, b.load(n)
}

// file returns the blob at p, or nil when p is not a file.
func (b *batchTree) file(p string) (*treeEntry, error) {
	parent, name := path.Split(p)
	n, err := b.dir(strings.TrimSuffix(parent, "/"))
	if err != nil || n == nil {
		return nil, err
	}
	e := n.entries[name]
	if e == nil || e.dir != nil || e.mode == filemode.Submodule {
		return nil, nil
	}
	return e, nil
}

func (b *batchTree) read(p string) ([]byte, bool, error) {
	e, err := b.file(p)
	if err != nil || e == nil {
		return nil, false, err
	}
	data, err := readBlob(b.st, e.hash)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	return data, true, nil
}

// list returns every file whose path starts with prefix, sorted.
func (b *batchTree) list(prefix string) ([]string, error) {
	base := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		base = prefix[:i]
	}
	n, err := b.dir(base)
	if err != nil || n == nil {
		return nil, err
	}
	var out []string
	var walk func(n *treeNode, dir string) error
	walk = func(n *treeNode, dir string) error {
		if err := b.load(n); err != nil {
			return err
		}
		for name, e := range n.entries {
			p := name
			if dir != "" {
				p = dir + "/" + name
			}
			if e.dir != nil {
				// Only descend where the prefix can still match.
				if strings.HasPrefix(p+"/", prefix) || strings.HasPrefix(prefix, p+"/") {
					if err := walk(e.dir, p); err != nil {
						return err
					}
				}
				continue
			}
			if e.mode != filemode.Submodule && strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
		return nil
	}
	if err := walk(n, base); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// envIndex returns name -> paths of every environment file.
func (b *batchTree) envIndex() (map[string][]string, error) {
	if b.envs != nil {
		return b.envs, nil
	}
	files, err := b.list(envs.Dir + "/")
	if err != nil {
		return nil, err
	}
	b.envs = map[string][]string{}
	for _, p := range files {
		if name, ok := envs.NameFromPath(p); ok {
			b.envs[name] = append(b.envs[name], p)
		}
	}
	return b.envs, nil
}

// parent walks to the folder holding p, loading folders on the way and,
// with create, making missing ones. It returns nil when a folder is missing
// and create is false, and the folders on the way (which an edit makes
// dirty).
func (b *batchTree) parent(p string, create bool) (*treeNode, []*treeNode, error) {
	parts := strings.Split(p, "/")
	n := b.root
	var chain []*treeNode
	for i, part := range parts[:len(parts)-1] {
		if err := b.load(n); err != nil {
			return nil, nil, err
		}
		chain = append(chain, n)
		e := n.entries[part]
		switch {
		case e == nil && create:
			e = &treeEntry{mode: filemode.Dir, dir: &treeNode{loaded: true, entries: map[string]*treeEntry{}}}
			n.entries[part] = e
		case e == nil:
			return nil, nil, nil
		case e.dir == nil && create:
			return nil, nil, fmt.Errorf("writing %s: %s is a file", p, strings.Join(parts[:i+1], "/"))
		case e.dir == nil:
			return nil, nil, nil
		}
		n = e.dir
	}
	if err := b.load(n); err != nil {
		return nil, nil, err
	}
	return n, append(chain, n), nil
}

// set stores blob h at p, creating folders. It reports whether the tree
// changed.
func (b *batchTree) set(p string, h plumbing.Hash) (bool, error) {
	n, chain, err := b.parent(p, true)
	if err != nil {
		return false, err
	}
	name := path.Base(p)
	e := n.entries[name]
	switch {
	case e == nil:
		n.entries[name] = &treeEntry{mode: filemode.Regular, hash: h}
		b.indexAdd(p)
	case e.dir != nil:
		return false, fmt.Errorf("writing %s: it is a folder", p)
	case e.hash == h:
		return false, nil
	default:
		e.hash = h
	}
	dirty(chain)
	return true, nil
}

// remove deletes the file at p, reporting whether there was one.
func (b *batchTree) remove(p string) (bool, error) {
	n, chain, err := b.parent(p, false)
	if err != nil || n == nil {
		return false, err
	}
	name := path.Base(p)
	if e := n.entries[name]; e == nil || e.dir != nil {
		return false, nil
	}
	delete(n.entries, name)
	b.indexRemove(p)
	dirty(chain)
	return true, nil
}

// dirty marks folders as edited, to be stored again by write.
func dirty(chain []*treeNode) {
	for _, c := range chain {
		c.hash = plumbing.ZeroHash
	}
}

func (b *batchTree) indexAdd(p string) {
	if name, ok := envs.NameFromPath(p); ok && b.envs != nil {
		b.envs[name] = append(b.envs[name], p)
		slices.Sort(b.envs[name])
	}
}

func (b *batchTree) indexRemove(p string) {
	if name, ok := envs.NameFromPath(p); ok && b.envs != nil {
		b.envs[name] = slices.DeleteFunc(b.envs[name], func(s string) bool { return s == p })
		if len(b.envs[name]) == 0 {
			delete(b.envs, name)
		}
	}
}

// write stores every edited folder and returns the root tree.
func (b *batchTree) write() (plumbing.Hash, error) {
	h, err := b.writeNode(b.root)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if h.IsZero() { // an empty repository: git's empty tree
		return b.store(&object.Tree{})
	}
	return h, nil
}

// writeNode returns the node's tree hash, zero for an empty folder (git
// keeps no empty folders).
func (b *batchTree) writeNode(n *treeNode) (plumbing.Hash, error) {
	if !n.hash.IsZero() {
		return n.hash, nil
	}
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(n.entries))}
	for name, e := range n.entries {
		h := e.hash
		if e.dir != nil {
			var err error
			if h, err = b.writeNode(e.dir); err != nil {
				return plumbing.ZeroHash, err
			}
			if h.IsZero() {
				continue
			}
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: e.mode, Hash: h})
	}
	if len(t.Entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	// git orders entries by name, comparing a folder as if its name ended
	// in "/".
	slices.SortFunc(t.Entries, func(x, y object.TreeEntry) int { return strings.Compare(sortName(x), sortName(y)) })
	h, err := b.store(t)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	n.hash = h
	return h, nil
}

func sortName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func (b *batchTree) store(t *object.Tree) (plumbing.Hash, error) {
	obj := b.st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding tree: %w", err)
	}
	h, err := b.st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("storing tree: %w", err)
	}
	b.wrote(h)
	return h, nil
}

// wrote records an object stored for the push.
func (b *batchTree) wrote(h plumbing.Hash) {
	if _, ok := b.seen[h]; !ok {
		b.seen[h] = struct{}{}
		b.written = append(b.written, h)
	}
}

// blob stores a file's content.
func (b *batchTree) blob(data []byte) (plumbing.Hash, error) {
	h, err := writeBlob(b.st, data)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	b.wrote(h)
	return h, nil
}

func readBlob(st storage.Storer, h plumbing.Hash) ([]byte, error) {
	obj, err := st.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var buf bytes.Buffer
	buf.Grow(int(obj.Size()))
	if _, err := buf.ReadFrom(rd); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeBlob(st storage.Storer, data []byte) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}
