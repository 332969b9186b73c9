package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/envwick/envwick/envs"
)

// Snapshot is every environment file at one commit.
type Snapshot struct {
	Commit string
	// Environments by name. A file that does not parse is still here,
	// named after its file, with Err set: a broken file never reads as a
	// removed environment.
	Environments map[string]Entry
	// Files is every environment file by path, including each of several
	// files that claim one name (Environments holds the first of those).
	Files []Entry
}

// Entry is one environment file. Exactly one of Env and Err is set. Env is
// shared with the Repo's cache: treat it as read-only (DeepCopy to edit).
type Entry struct {
	// Name is the environment's name, taken from the file name.
	Name string
	// Path is the file's path in the repository.
	Path string
	// Blob is the file's git blob hash: equal blobs, equal content.
	Blob string
	Env  *envs.Environment
	Err  error
}

type parseKey struct {
	blob plumbing.Hash
	path string
}

type fileRef struct {
	path string
	blob plumbing.Hash
}

// Load returns every environment file at commit. Files are parsed in
// parallel and cached by blob hash, so loading a commit that differs from
// an earlier one in one file parses that file only.
func (r *Repo) Load(ctx context.Context, commit string) (*Snapshot, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	c, err := r.commit(commit)
	if err != nil {
		return nil, err
	}
	files, err := r.environmentFiles(c.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("loading environments at %s: %w", commit, err)
	}
	docs, err := r.parse(ctx, files)
	if err != nil {
		return nil, fmt.Errorf("loading environments at %s: %w", commit, err)
	}
	return snapshot(c.Hash.String(), files, docs), nil
}

// LoadFiles returns the environment files among paths as they are at
// commit, parsed through the same cache as Load; a path with no file there
// is left out. It applies no repository-level rule: a name two files share
// is the caller's to check (envs.CheckUnique). It lets a caller that loaded
// an earlier commit read only what changed since (see Changed).
func (r *Repo) LoadFiles(ctx context.Context, commit string, paths []string) ([]Entry, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	c, err := r.commit(commit)
	if err != nil {
		return nil, err
	}
	var files []fileRef
	for _, p := range paths {
		if _, ok := envs.NameFromPath(p); !ok {
			continue
		}
		e, ok, err := r.find(c.TreeHash, p)
		if err != nil {
			return nil, fmt.Errorf("loading environment files at %s: %w", commit, err)
		}
		if ok && e.Mode.IsFile() {
			files = append(files, fileRef{path: p, blob: e.Hash})
		}
	}
	docs, err := r.parse(ctx, files)
	if err != nil {
		return nil, fmt.Errorf("loading environment files at %s: %w", commit, err)
	}
	out := make([]Entry, len(files))
	for i, d := range docs {
		name, _ := envs.NameFromPath(d.Path)
		out[i] = Entry{Name: name, Path: d.Path, Blob: files[i].blob.String(), Env: d.Env, Err: d.Err}
	}
	return out, nil
}

// parse returns the document of each file, from the cache or parsed.
func (r *Repo) parse(ctx context.Context, files []fileRef) ([]envs.Document, error) {
	docs := make([]envs.Document, len(files))
	var todo []int
	for i, f := range files {
		if v, ok := r.parsed.Get(parseKey{f.blob, f.path}); ok {
			docs[i] = v.(envs.Document)
		} else {
			todo = append(todo, i)
		}
	}
	return docs, r.parseAll(ctx, files, docs, todo)
}

// parseAll reads the blobs of docs[todo] in one goroutine (storage reads
// are serialised anyway) and parses them on every CPU.
func (r *Repo) parseAll(ctx context.Context, files []fileRef, docs []envs.Document, todo []int) error {
	if len(todo) == 0 {
		return nil
	}
	type job struct {
		i    int
		data []byte
	}
	jobs := make(chan job, 64)
	var readErr error
	go func() {
		defer close(jobs)
		for _, i := range todo {
			if err := ctx.Err(); err != nil {
				readErr = err
				return
			}
			data, err := readBlob(r.st, files[i].blob)
			if err != nil {
				readErr = fmt.Errorf("reading %s: %w", files[i].path, err)
				return
			}
			jobs <- job{i, data}
		}
	}()
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			for j := range jobs {
				f := files[j.i]
				d := envs.ParseDocument(f.path, j.data)
				r.parses.Add(1)
				r.parsed.Add(parseKey{f.blob, f.path}, d)
				docs[j.i] = d
			}
		})
	}
	wg.Wait()
	return readErr
}

// parseStored returns the parsed environment file at path with content
// blob (data, or read from storage when nil), from the cache when it was
// parsed before. The caller holds r.gen.
func (r *Repo) parseStored(path string, blob plumbing.Hash, data []byte) (envs.Document, error) {
	key := parseKey{blob, path}
	if v, ok := r.parsed.Get(key); ok {
		return v.(envs.Document), nil
	}
	if data == nil {
		var err error
		if data, err = readBlob(r.st, blob); err != nil {
			return envs.Document{}, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	d := envs.ParseDocument(path, data)
	r.parses.Add(1)
	r.parsed.Add(key, d)
	return d, nil
}

// snapshot indexes the files by name; every file of a name used twice gets
// an error (envs.CheckUnique), so none silently wins.
func snapshot(commit string, files []fileRef, docs []envs.Document) *Snapshot {
	docs = envs.CheckUnique(docs)
	s := &Snapshot{Commit: commit, Environments: make(map[string]Entry, len(docs)), Files: make([]Entry, len(docs))}
	for i, d := range docs {
		name, _ := envs.NameFromPath(d.Path)
		e := Entry{Name: name, Path: d.Path, Blob: files[i].blob.String(), Env: d.Env, Err: d.Err}
		s.Files[i] = e
		if _, seen := s.Environments[name]; !seen {
			s.Environments[name] = e
		}
	}
	return s
}

// environmentFiles lists every environment file in a tree, sorted by path.
func (r *Repo) environmentFiles(root plumbing.Hash) ([]fileRef, error) {
	e, ok, err := r.find(root, envs.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", envs.Dir, err)
	}
	if !ok || e.Mode != filemode.Dir {
		return nil, nil
	}
	var out []fileRef
	var walk func(h plumbing.Hash, dir string) error
	walk = func(h plumbing.Hash, dir string) error {
		t, err := r.getTree(h)
		if err != nil {
			return fmt.Errorf("reading %s: %w", dir, err)
		}
		for _, e := range t.entries {
			p := dir + "/" + e.Name
			switch {
			case e.Mode == filemode.Dir:
				if err := walk(e.Hash, p); err != nil {
					return err
				}
			case e.Mode.IsFile():
				if _, ok := envs.NameFromPath(p); ok {
					out = append(out, fileRef{path: p, blob: e.Hash})
				}
			}
		}
		return nil
	}
	if err := walk(e.Hash, envs.Dir); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// commit resolves a full commit hash.
func (r *Repo) commit(commit string) (*object.Commit, error) {
	if !plumbing.IsHash(commit) {
		return nil, fmt.Errorf("commit %q: want a full commit hash", commit)
	}
	c, err := object.GetCommit(r.st, plumbing.NewHash(commit))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("commit %s: %w", commit, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", commit, err)
	}
	return c, nil
}

func (r *Repo) tree(commit string) (*object.Tree, error) {
	c, err := r.commit(commit)
	if err != nil {
		return nil, err
	}
	t, err := object.GetTree(r.st, c.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", commit, err)
	}
	return t, nil
}

// Changed lists the paths that differ between two commits, sorted; from
// empty means the empty tree (every path at to).
func (r *Repo) Changed(ctx context.Context, from, to string) ([]string, error) {
	changes, err := r.Diff(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.Path
	}
	return out, nil
}

// ReadFile returns the content of a file at a commit.
func (r *Repo) ReadFile(ctx context.Context, commit, path string) ([]byte, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	c, err := r.commit(commit)
	if err != nil {
		return nil, err
	}
	e, ok, err := r.find(c.TreeHash, path)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", path, commit, err)
	}
	if !ok || !e.Mode.IsFile() {
		return nil, fmt.Errorf("%s at %s: %w", path, commit, ErrNotFound)
	}
	data, err := readBlob(r.st, e.Hash)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", path, commit, err)
	}
	return data, nil
}

type sinceKey struct {
	commit plumbing.Hash
	path   string
}

// LastChange returns when the commit that last changed path, as seen from
// commit, was committed: git log -1 --format=%cI commit -- path, following
// the parent the file came from through merges. Answers are cached per
// commit and path, so asking again after new commits walks only those.
func (r *Repo) LastChange(ctx context.Context, commit, path string) (time.Time, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	c, err := r.commit(commit)
	if err != nil {
		return time.Time{}, err
	}
	want, err := r.hashAt(c.TreeHash, path)
	if err != nil {
		return time.Time{}, err
	}
	if want.IsZero() {
		return time.Time{}, fmt.Errorf("%s at %s: %w", path, commit, ErrNotFound)
	}
	var walked []plumbing.Hash
	var when time.Time
	for {
		if v, ok := r.since.Get(sinceKey{c.Hash, path}); ok {
			when = v.(time.Time)
			break
		}
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		walked = append(walked, c.Hash)
		var next *object.Commit
		for _, ph := range c.ParentHashes {
			p, err := object.GetCommit(r.st, ph)
			if err != nil {
				return time.Time{}, fmt.Errorf("reading commit %s: %w", ph, err)
			}
			h, err := r.hashAt(p.TreeHash, path)
			if err != nil {
				return time.Time{}, err
			}
			if h == want {
				next = p
				break
			}
		}
		if next == nil {
			when = c.Committer.When
			break
		}
		c = next
	}
	for _, h := range walked {
		r.since.Add(sinceKey{h, path}, when)
	}
	return when, nil
}

// entryAt returns the hash of the entry at path in a tree (zero when there
// is none), decoding each tree once per call.
func (r *Repo) entryAt(trees map[plumbing.Hash]*object.Tree, root plumbing.Hash, path string) (plumbing.Hash, error) {
	h := root
	parts := splitPath(path)
	for i, part := range parts {
		t, ok := trees[h]
		if !ok {
			var err error
			if t, err = object.GetTree(r.st, h); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("reading tree %s: %w", h, err)
			}
			trees[h] = t
		}
		e, err := t.FindEntry(part)
		if err != nil || (i < len(parts)-1 && e.Mode != filemode.Dir) {
			return plumbing.ZeroHash, nil
		}
		h = e.Hash
	}
	return h, nil
}

// hashAt is the hash of the entry at path under root, or the zero hash
// when there is none, from the shared decoded trees.
func (r *Repo) hashAt(root plumbing.Hash, path string) (plumbing.Hash, error) {
	e, ok, err := r.find(root, path)
	if err != nil || !ok {
		return plumbing.ZeroHash, err
	}
	return e.Hash, nil
}
