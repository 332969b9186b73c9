package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// This file holds the read-only views over history that the dashboard and
// `envwick status` use: files of a tree, commits with their trailers, what a
// commit changed, and the log of one file.

// File is one file of a tree: its path and blob hash.
type File struct {
	Path string
	Blob string
}

// ListFiles lists every file under dir (recursively; "" for the whole tree)
// at commit, sorted by path. A dir that does not exist lists nothing.
func (r *Repo) ListFiles(ctx context.Context, commit, dir string) ([]File, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	t, err := r.tree(commit)
	if err != nil {
		return nil, err
	}
	dir = strings.Trim(dir, "/")
	if dir != "" {
		e, err := t.FindEntry(dir)
		if err != nil || e.Mode != filemode.Dir {
			return nil, nil
		}
		if t, err = object.GetTree(r.st, e.Hash); err != nil {
			return nil, fmt.Errorf("reading %s at %s: %w", dir, commit, err)
		}
	}
	var out []File
	var walk func(t *object.Tree, prefix string) error
	walk = func(t *object.Tree, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, e := range t.Entries {
			p := e.Name
			if prefix != "" {
				p = prefix + "/" + e.Name
			}
			switch {
			case e.Mode == filemode.Dir:
				sub, err := object.GetTree(r.st, e.Hash)
				if err != nil {
					return fmt.Errorf("reading %s: %w", p, err)
				}
				if err := walk(sub, p); err != nil {
					return err
				}
			case e.Mode.IsFile():
				out = append(out, File{Path: p, Blob: e.Hash.String()})
			}
		}
		return nil
	}
	if err := walk(t, dir); err != nil {
		return nil, fmt.Errorf("listing %s at %s: %w", dir, commit, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ReadBlob returns the content of a blob, by hash.
func (r *Repo) ReadBlob(ctx context.Context, blob string) ([]byte, error) {
	if !plumbing.IsHash(blob) {
		return nil, fmt.Errorf("blob %q: want a full hash", blob)
	}
	r.gen.RLock()
	defer r.gen.RUnlock()
	data, err := readBlob(r.st, plumbing.NewHash(blob))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("blob %s: %w", blob, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", blob, err)
	}
	return data, nil
}

// CommitInfo is one commit as a person reads it in git log.
type CommitInfo struct {
	Hash    string
	Parents []string
	Author  Signature
	// When is the author time; Committed the committer time.
	When      time.Time
	Committed time.Time
	// Subject is the first line of the message; Body the rest without the
	// trailers.
	Subject  string
	Body     string
	Trailers []Trailer
}

// Trailer returns the value of the first trailer with key (case
// insensitive), or "".
func (c CommitInfo) Trailer(key string) string {
	for _, t := range c.Trailers {
		if strings.EqualFold(t.Key, key) {
			return t.Value
		}
	}
	return ""
}

// CommitInfo returns one commit.
func (r *Repo) CommitInfo(ctx context.Context, commit string) (CommitInfo, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	c, err := r.commit(commit)
	if err != nil {
		return CommitInfo{}, err
	}
	return commitInfo(c), nil
}

func commitInfo(c *object.Commit) CommitInfo {
	info := CommitInfo{
		Hash:      c.Hash.String(),
		Author:    Signature{Name: c.Author.Name, Email: c.Author.Email},
		When:      c.Author.When,
		Committed: c.Committer.When,
	}
	for _, p := range c.ParentHashes {
		info.Parents = append(info.Parents, p.String())
	}
	msg := strings.TrimRight(c.Message, "\n \t")
	subject, rest, _ := strings.Cut(msg, "\n")
	info.Subject = strings.TrimSpace(subject)
	info.Body, info.Trailers = splitTrailers(rest)
	return info
}

// splitTrailers parses the trailers of a message body: its last paragraph,
// when every line of it is "Key: Value" (what message writes).
func splitTrailers(body string) (string, []Trailer) {
	body = strings.Trim(body, "\n")
	i := strings.LastIndex(body, "\n\n")
	last := body[i+1:]
	if i < 0 {
		last = body
	}
	var ts []Trailer
	for _, line := range strings.Split(strings.TrimSpace(last), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !trailerKey.MatchString(k) {
			return strings.TrimSpace(body), nil
		}
		ts = append(ts, Trailer{Key: k, Value: strings.TrimSpace(v)})
	}
	if i < 0 {
		return "", ts
	}
	return strings.TrimSpace(body[:i]), ts
}

// FileChange is one file a commit changed: its blob before and after
// (empty when absent).
type FileChange struct {
	Path string
	From string
	To   string
}

// Diff lists the files that differ between two commits, sorted by path,
// with their blobs; from empty means the empty tree. Folders with equal
// hashes are skipped and a changed folder's entries are matched by name,
// so a commit touching a few files of a folder of 10,000 reads two trees
// and compares hashes (go-git's DiffTree took about 80 ms for that).
func (r *Repo) Diff(ctx context.Context, from, to string) ([]FileChange, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	toCommit, err := r.commit(to)
	if err != nil {
		return nil, err
	}
	var fromTree plumbing.Hash // the empty tree
	if from != "" {
		fromCommit, err := r.commit(from)
		if err != nil {
			return nil, err
		}
		fromTree = fromCommit.TreeHash
	}
	var out []FileChange
	if err := r.diffTrees(ctx, fromTree, toCommit.TreeHash, "", &out); err != nil {
		return nil, fmt.Errorf("comparing %s and %s: %w", from, to, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// diffTrees appends the file changes between two trees (the zero hash is
// the empty tree) under prefix. Trees come decoded from the Repo's cache,
// indexed by name.
func (r *Repo) diffTrees(ctx context.Context, a, b plumbing.Hash, prefix string, out *[]FileChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a == b {
		return nil
	}
	left, right := &tree{}, &tree{}
	var err error
	if !a.IsZero() {
		if left, err = r.getTree(a); err != nil {
			return err
		}
	}
	if !b.IsZero() {
		if right, err = r.getTree(b); err != nil {
			return err
		}
	}
	// side lists one side's files under an entry (a file, or every file
	// of a folder) as changes against nothing.
	side := func(e object.TreeEntry, p string, isFrom bool) error {
		if e.Mode != filemode.Dir {
			if !e.Mode.IsFile() {
				return nil
			}
			fc := FileChange{Path: p}
			if isFrom {
				fc.From = e.Hash.String()
			} else {
				fc.To = e.Hash.String()
			}
			*out = append(*out, fc)
			return nil
		}
		if isFrom {
			return r.diffTrees(ctx, e.Hash, plumbing.ZeroHash, p, out)
		}
		return r.diffTrees(ctx, plumbing.ZeroHash, e.Hash, p, out)
	}
	join := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "/" + name
	}
	for _, l := range left.entries {
		p := join(l.Name)
		rt, ok := right.entry(l.Name)
		switch {
		case !ok:
			if err := side(l, p, true); err != nil {
				return err
			}
		case l.Hash == rt.Hash && l.Mode == rt.Mode:
		case l.Mode == filemode.Dir && rt.Mode == filemode.Dir:
			if err := r.diffTrees(ctx, l.Hash, rt.Hash, p, out); err != nil {
				return err
			}
		case l.Mode.IsFile() && rt.Mode.IsFile():
			*out = append(*out, FileChange{Path: p, From: l.Hash.String(), To: rt.Hash.String()})
		default: // a file became a folder or back
			if err := side(l, p, true); err != nil {
				return err
			}
			if err := side(rt, p, false); err != nil {
				return err
			}
		}
	}
	for _, rt := range right.entries {
		if _, ok := left.entry(rt.Name); !ok {
			if err := side(rt, join(rt.Name), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// FileLog returns the commits that changed path, newest first, as seen from
// commit: git log --follow-less `-- path`, following the parent the file
// came from through merges, back to the commit that created it. It returns
// at most limit commits (0: no bound) and walks at most maxWalk commits (0: no bound);
// more reports that older changes were left out.
func (r *Repo) FileLog(ctx context.Context, commit, path string, limit, maxWalk int) (log []CommitInfo, more bool, err error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	c, err := r.commit(commit)
	if err != nil {
		return nil, false, err
	}
	trees := map[plumbing.Hash]*object.Tree{}
	want, err := r.entryAt(trees, c.TreeHash, path)
	if err != nil {
		return nil, false, err
	}
	if want.IsZero() {
		return nil, false, fmt.Errorf("%s at %s: %w", path, commit, ErrNotFound)
	}
	for walked := 0; ; walked++ {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if maxWalk > 0 && walked >= maxWalk {
			return log, true, nil
		}
		var same, had *object.Commit
		var hadBlob plumbing.Hash
		for _, ph := range c.ParentHashes {
			p, err := object.GetCommit(r.st, ph)
			if err != nil {
				return nil, false, fmt.Errorf("reading commit %s: %w", ph, err)
			}
			h, err := r.entryAt(trees, p.TreeHash, path)
			if err != nil {
				return nil, false, err
			}
			if h == want {
				same = p
				break
			}
			if !h.IsZero() && had == nil {
				had, hadBlob = p, h
			}
		}
		if same != nil {
			c = same
			continue
		}
		if limit > 0 && len(log) == limit {
			return log, true, nil
		}
		log = append(log, commitInfo(c))
		if had == nil {
			return log, false, nil // created here
		}
		c, want = had, hadBlob
		// Trees of commits left behind are not read again; keep the map
		// from growing with a long walk.
		if len(trees) > 4096 {
			clear(trees)
		}
	}
}
