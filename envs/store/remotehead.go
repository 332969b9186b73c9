package store

import (
	"context"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// RemoteHead reads where the default branch is on the remote now, without
// fetching anything: one ref advertisement over the network (what
// 'git ls-remote' costs), or one ref file for a repository on this
// machine. A local-only repository answers its own head. It is how a
// poll notices pushes from remotes that send no webhook.
func (r *Repo) RemoteHead(ctx context.Context) (string, error) {
	if r.remote == nil {
		return r.Head("")
	}
	h, err := r.remote.head(ctx, r.branch)
	if err != nil {
		return "", fmt.Errorf("reading the head of %s on %s: %w", r.branch, r.where(), err)
	}
	if h.IsZero() {
		return "", nil
	}
	return h.String(), nil
}

// head reads a branch of a git server from its ref advertisement.
func (n *netRemote) head(ctx context.Context, branch string) (plumbing.Hash, error) {
	auth, err := n.auth.method(ctx, n.ep)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	// A throwaway remote: listing needs no local objects or config.
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: remoteName, URLs: []string{n.ep.String()}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	want := plumbing.NewBranchReferenceName(branch)
	for _, ref := range refs {
		if ref.Name() == want {
			return ref.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// head reads a branch of a repository on this machine.
func (d *dirRemote) head(ctx context.Context, branch string) (plumbing.Hash, error) {
	src, err := d.open()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer src.Close()
	var ref *plumbing.Reference
	err = retryTornRef(ctx, func() (err error) {
		ref, err = src.Reference(plumbing.NewBranchReferenceName(branch))
		return err
	})
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ref.Hash(), nil
}
