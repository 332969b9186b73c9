package store

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/envwick/envwick/envs"
)

// Tx is the tree a Change edits: the branch head plus the commits queued
// before it in the same push. Reads see the Tx's own edits. Apply may run
// more than once (on a newer head after a rejected push), so it must derive
// everything from what it reads here.
type Tx struct {
	tree  *batchTree
	edits map[string]*edit // path -> pending edit
	// dirs counts the files written by this Tx under each folder, so a
	// write can tell a folder from a file without scanning every edit.
	dirs map[string]int
	err  error
	// delivered answers Delivered; nil when the build has no history.
	delivered func(id string) bool
}

type edit struct {
	data    []byte
	deleted bool
}

func newTx(tree *batchTree) *Tx {
	return &Tx{tree: tree, edits: map[string]*edit{}, dirs: map[string]int{}}
}

// record replaces the pending edit of p, keeping dirs in step.
func (tx *Tx) record(p string, e *edit) {
	if old, ok := tx.edits[p]; ok && !old.deleted {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			tx.dirs[dir]--
		}
	}
	if !e.deleted {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			tx.dirs[dir]++
		}
	}
	tx.edits[p] = e
}

func (tx *Tx) fail(err error) {
	if tx.err == nil {
		tx.err = err
	}
}

// Read returns the content of the file at p and whether it exists.
func (tx *Tx) Read(p string) ([]byte, bool) {
	if e, ok := tx.edits[p]; ok {
		if e.deleted {
			return nil, false
		}
		return slices.Clone(e.data), true
	}
	data, ok, err := tx.tree.read(p)
	if err != nil {
		tx.fail(err)
	}
	return data, ok
}

// Write sets the content of the file at p (slash-separated, relative to the
// repository root), creating folders as needed.
func (tx *Tx) Write(p string, data []byte) {
	if err := checkPath(p); err != nil {
		tx.fail(err)
		return
	}
	if err := tx.checkWritable(p); err != nil {
		tx.fail(err)
		return
	}
	tx.record(p, &edit{data: slices.Clone(data)})
}

// Delete removes the file at p; deleting a missing file does nothing.
func (tx *Tx) Delete(p string) {
	if err := checkPath(p); err != nil {
		tx.fail(err)
		return
	}
	tx.record(p, &edit{deleted: true})
}

// List returns every file whose path starts with prefix (for a folder, end
// it with "/"), sorted.
func (tx *Tx) List(prefix string) []string {
	files, err := tx.tree.list(prefix)
	if err != nil {
		tx.fail(err)
	}
	for p, e := range tx.edits {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		i, found := slices.BinarySearch(files, p)
		switch {
		case e.deleted && found:
			files = slices.Delete(files, i, i+1)
		case !e.deleted && !found:
			files = slices.Insert(files, i, p)
		}
	}
	return files
}

// FindEnvironment returns the path of the environment file called name
// (environments/**/<name>.yaml) and whether there is one. Names are unique
// across the repository; if a broken repository holds two, the first by
// path is returned.
func (tx *Tx) FindEnvironment(name string) (string, bool) {
	idx, err := tx.tree.envIndex()
	if err != nil {
		tx.fail(err)
		return "", false
	}
	var paths []string
	for _, p := range idx[name] {
		if e, ok := tx.edits[p]; !ok || !e.deleted {
			paths = append(paths, p)
		}
	}
	for p, e := range tx.edits {
		if n, ok := envs.NameFromPath(p); ok && n == name && !e.deleted && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return "", false
	}
	return slices.Min(paths), true
}

// Environments returns every environment file the Tx sees (the branch head,
// the changes queued before it in the same push and its own edits), parsed
// and sorted by path, for rules that look at the whole repository (such as
// a quota of environments per owner). A file that does not parse is there
// with Err set. Files that did not change come from the Repo's cache of
// parsed files, so a call costs a walk of the environments folder, not a
// parse of every file. Env values are shared with that cache: treat them as
// read-only.
func (tx *Tx) Environments() []envs.Document {
	var out []envs.Document
	for _, p := range tx.List(envs.Dir + "/") {
		if !envs.IsEnvironmentPath(p) {
			continue
		}
		var blob plumbing.Hash
		var data []byte
		if e, ok := tx.edits[p]; ok {
			// Keyed like the stored blob it becomes, so the next look at
			// it finds it parsed.
			blob, data = plumbing.ComputeHash(plumbing.BlobObject, e.data), e.data
		} else {
			f, err := tx.tree.file(p)
			if err != nil {
				tx.fail(err)
				return nil
			}
			if f == nil {
				continue
			}
			blob = f.hash
		}
		d, err := tx.tree.parse(p, blob, data)
		if err != nil {
			tx.fail(err)
			return nil
		}
		out = append(out, d)
	}
	return out
}

// Delivered reports whether a commit this Tx builds on carries a Delivery
// trailer naming id: one in the branch's history up to the head it applies
// to, or one queued before it in the same push. Apply runs again on the
// new head after a rejected push, so a change that returns an error when
// its delivery is already there is made once however many writers race
// with it, in this process or any other with a clone of the same remote.
func (tx *Tx) Delivered(id string) bool {
	return id != "" && tx.delivered != nil && tx.delivered(id)
}

// checkWritable refuses a write that would turn a folder into a file or
// put a file under a file, checked up front so that applying the Tx cannot
// fail half way.
func (tx *Tx) checkWritable(p string) error {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if e, ok := tx.edits[dir]; ok {
			if !e.deleted {
				return fmt.Errorf("writing %s: %s is a file", p, dir)
			}
			continue
		}
		f, err := tx.tree.file(dir)
		if err != nil {
			return err
		}
		if f != nil {
			return fmt.Errorf("writing %s: %s is a file", p, dir)
		}
	}
	n, err := tx.tree.dir(p)
	if err != nil {
		return err
	}
	if n != nil {
		return fmt.Errorf("writing %s: it is a folder", p)
	}
	if tx.dirs[p] > 0 {
		return fmt.Errorf("writing %s: it is a folder", p)
	}
	return nil
}

// apply records the Tx's edits in the tree and reports whether the tree
// changed. Deletions go first so a file can replace a deleted folder's
// parent.
func (tx *Tx) apply() (bool, error) {
	paths := make([]string, 0, len(tx.edits))
	for p := range tx.edits {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(a, b string) int {
		da, db := tx.edits[a].deleted, tx.edits[b].deleted
		if da != db {
			if da {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	changed := false
	for _, p := range paths {
		e := tx.edits[p]
		var c bool
		var err error
		if e.deleted {
			c, err = tx.tree.remove(p)
		} else {
			h, werr := tx.tree.blob(e.data)
			if werr != nil {
				return false, fmt.Errorf("storing %s: %w", p, werr)
			}
			c, err = tx.tree.set(p, h)
		}
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	return changed, nil
}

// checkPath accepts clean, relative, slash-separated paths outside .git.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return fmt.Errorf("invalid path %q: want a clean relative path such as environments/name.yaml", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".git" || strings.ContainsAny(part, "\x00") {
			return fmt.Errorf("invalid path %q", p)
		}
	}
	return nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }
