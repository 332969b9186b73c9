package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// fetchedPrefix holds the refs FetchRef brings in, so the objects they
// reach survive compaction (which keeps what refs reach).
const fetchedPrefix = "refs/envwick/fetched/"

// Resolve turns a revision (a full or abbreviated commit hash, a branch, a
// tag, origin/<branch>) into a commit of the local clone, as last fetched.
// A branch name is looked up on the remote's side first, as the clone
// knows it.
func (r *Repo) Resolve(ctx context.Context, rev string) (string, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	tries := []string{rev}
	if r.remote != nil && !strings.HasPrefix(rev, remoteName+"/") {
		tries = []string{remoteName + "/" + rev, rev}
	}
	for _, t := range tries {
		h, err := r.repo.ResolveRevision(plumbing.Revision(t))
		if err == nil {
			return h.String(), nil
		}
	}
	return "", fmt.Errorf("revision %q: %w", rev, ErrNotFound)
}

// FetchRef makes commit available in the local clone: when a fetch of the
// branches does not bring it (a pull request from a fork), the remote's ref
// (such as refs/pull/12/head, which GitHub keeps for every pull request) is
// fetched into a ref of the clone's own. It returns ErrNotFound when
// neither holds commit.
func (r *Repo) FetchRef(ctx context.Context, commit, ref string) error {
	if !plumbing.IsHash(commit) {
		return fmt.Errorf("commit %q: want a full commit hash", commit)
	}
	if r.has(commit) {
		return nil
	}
	if _, err := r.Sync(ctx); err != nil {
		return err
	}
	if r.has(commit) || r.remote == nil || ref == "" {
		return r.hasErr(commit)
	}
	if err := checkRef(ref); err != nil {
		return err
	}
	local := plumbing.ReferenceName(fetchedPrefix + strings.TrimPrefix(ref, "refs/"))
	r.netMu.Lock()
	err := r.remote.fetchRef(ctx, plumbing.ReferenceName(ref), local)
	r.netMu.Unlock()
	if err != nil {
		return fmt.Errorf("fetching %s from %s: %w", ref, r.where(), err)
	}
	return r.hasErr(commit)
}

func checkRef(ref string) error {
	if !strings.HasPrefix(ref, "refs/") || strings.Contains(ref, "..") || strings.ContainsAny(ref, " ~^:?*[\\") {
		return fmt.Errorf("ref %q: want a full ref name such as refs/pull/12/head", ref)
	}
	return nil
}

func (r *Repo) has(commit string) bool {
	r.gen.RLock()
	defer r.gen.RUnlock()
	_, err := object.GetCommit(r.st, plumbing.NewHash(commit))
	return err == nil
}

func (r *Repo) hasErr(commit string) error {
	if r.has(commit) {
		return nil
	}
	return fmt.Errorf("commit %s: %w", commit, ErrNotFound)
}

// fetchRef for a git server: one refspec, forced (a pull request's ref
// moves with every push, force pushes included).
func (n *netRemote) fetchRef(ctx context.Context, ref, local plumbing.ReferenceName) error {
	auth, err := n.auth.method(ctx, n.ep)
	if err != nil {
		return err
	}
	err = n.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + ref.String() + ":" + local.String())},
		Auth:       auth,
		Tags:       git.NoTags,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	if errors.Is(err, transport.ErrEmptyRemoteRepository) || strings.Contains(err.Error(), "couldn't find remote ref") {
		return fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	return err
}

// fetchRef for a repository on this machine: copy what the ref reaches.
func (d *dirRemote) fetchRef(ctx context.Context, ref, local plumbing.ReferenceName) error {
	src, err := d.open()
	if err != nil {
		return err
	}
	defer src.Close()
	got, err := src.Reference(ref)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if got.Type() != plumbing.HashReference {
		return fmt.Errorf("%s is a symbolic ref", ref)
	}
	if err := copyObjects(ctx, src, d.local, got.Hash()); err != nil {
		return err
	}
	return d.local.SetReference(plumbing.NewHashReference(local, got.Hash()))
}

// MergePreview is a commit made in the local clone only (on no branch,
// never pushed) holding the tree that merging Head into Base would give.
type MergePreview struct {
	Base, Head string
	// Commit is the preview commit, with parents Base and Head.
	Commit string
	// Changed lists the paths Head changed since it branched from Base.
	Changed []string
	// Conflicts lists the paths both sides changed differently; the
	// preview keeps Base's version of them.
	Conflicts []string
}

// PreviewMerge builds the commit merging head into base, path by path: a
// path head changed since the merge base takes head's version unless base
// changed it too (then it is a conflict and keeps base's). Environment
// files are one environment each, so this is exact unless a conflict is
// reported (git might merge such a file line by line; the preview does
// not guess). Nothing is pushed and no ref moves.
func (r *Repo) PreviewMerge(ctx context.Context, base, head string) (MergePreview, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	out := MergePreview{Base: base, Head: head}
	bc, err := r.commit(base)
	if err != nil {
		return out, err
	}
	hc, err := r.commit(head)
	if err != nil {
		return out, err
	}
	bases, err := bc.MergeBase(hc)
	if err != nil {
		return out, fmt.Errorf("finding the merge base of %s and %s: %w", short(base), short(head), err)
	}
	from := &object.Tree{}
	if len(bases) > 0 {
		if from, err = bases[0].Tree(); err != nil {
			return out, fmt.Errorf("reading tree of %s: %w", bases[0].Hash, err)
		}
	}
	to, err := hc.Tree()
	if err != nil {
		return out, fmt.Errorf("reading tree of %s: %w", short(head), err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, from, to, &object.DiffTreeOptions{})
	if err != nil {
		return out, fmt.Errorf("comparing %s with its merge base: %w", short(head), err)
	}
	trees := map[plumbing.Hash]*object.Tree{}
	tree := newBatchTree(r.st, bc.TreeHash)
	for _, ch := range changes {
		// Without rename detection a change has one path: added (no From),
		// removed (no To) or modified (both the same).
		p := cmp.Or(ch.To.Name, ch.From.Name)
		was, wants := ch.From.TreeEntry.Hash, ch.To.TreeEntry.Hash
		out.Changed = append(out.Changed, p)
		have, err := r.entryAt(trees, bc.TreeHash, p)
		if err != nil {
			return out, err
		}
		switch {
		case have == wants:
		case have != was:
			out.Conflicts = append(out.Conflicts, p)
		case wants.IsZero():
			if _, err := tree.remove(p); err != nil {
				return out, err
			}
		default:
			if _, err := tree.set(p, wants); err != nil {
				return out, err
			}
		}
	}
	slices.Sort(out.Changed)
	out.Changed = slices.Compact(out.Changed)
	slices.Sort(out.Conflicts)
	out.Conflicts = slices.Compact(out.Conflicts)
	th, err := tree.write()
	if err != nil {
		return out, err
	}
	c := &object.Commit{
		Author:       object.Signature{Name: r.committer.Name, Email: r.committer.Email, When: r.now()},
		Committer:    object.Signature{Name: r.committer.Name, Email: r.committer.Email, When: r.now()},
		Message:      fmt.Sprintf("Preview merging %s into %s\n", short(head), short(base)),
		TreeHash:     th,
		ParentHashes: []plumbing.Hash{bc.Hash, hc.Hash},
	}
	obj := r.st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return out, fmt.Errorf("encoding the preview commit: %w", err)
	}
	h, err := r.st.SetEncodedObject(obj)
	if err != nil {
		return out, fmt.Errorf("storing the preview commit: %w", err)
	}
	out.Commit = h.String()
	return out, nil
}

func short(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}
