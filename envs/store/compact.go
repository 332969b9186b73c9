package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// defaultMaxPacks is how many packfiles a clone gathers (one per fetch
// that brought objects) before Sync folds them into one. go-git looks an
// object up in every pack's index in turn, so a long-running process would
// otherwise get slower with every fetch.
const defaultMaxPacks = 50

// storageOptions are the options of the clone's storage. Each fetch that
// brings objects adds a packfile: keep a bounded number of them open rather
// than all (which would run out of file descriptors).
var storageOptions = filesystem.Options{MaxOpenDescriptors: 64}

func openStorage(dir string) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(), storageOptions)
}

// packs lists the clone's packfiles.
func packs(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "pack"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".pack"); ok && strings.HasPrefix(name, "pack-") {
			out = append(out, name)
		}
	}
	return out, nil
}

// compact writes every object reachable from the clone's refs into one new
// pack, then swaps the storage for one that no longer has the old packs.
// The caller holds netMu (no fetch or push runs); the swap waits for every
// operation reading objects (they hold r.gen) so none reads an object from
// a pack that is gone.
func (r *Repo) compact(ctx context.Context) error {
	old, err := packs(r.dir)
	if err != nil || len(old) <= r.maxPacks {
		return err
	}
	hashes, err := r.reachable(ctx)
	if err != nil {
		return err
	}
	// A second storage on the same folder writes the pack, so readers of
	// the live one are not held up while it is encoded.
	side := openStorage(r.dir)
	w, err := side.PackfileWriter()
	if err != nil {
		side.Close()
		return err
	}
	if _, err := packfile.NewEncoder(w, side, false).Encode(hashes, packWindow); err != nil {
		w.Close()
		side.Close()
		return fmt.Errorf("writing pack: %w", err)
	}
	if err := w.Close(); err != nil {
		side.Close()
		return fmt.Errorf("writing pack: %w", err)
	}
	side.Close()

	r.gen.Lock()
	defer r.gen.Unlock()
	return r.st.swap(func() error {
		for _, name := range old {
			base := filepath.Join(r.dir, "objects", "pack", name)
			if err := os.Remove(base + ".pack"); err != nil {
				return err
			}
			if err := os.Remove(base + ".idx"); err != nil {
				return err
			}
		}
		return nil
	}, func() *filesystem.Storage { return openStorage(r.dir) })
}

// reachable lists every object reachable from the clone's refs.
func (r *Repo) reachable(ctx context.Context) ([]plumbing.Hash, error) {
	refs, err := r.st.IterReferences()
	if err != nil {
		return nil, err
	}
	var stack []plumbing.Hash
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference {
			stack = append(stack, ref.Hash())
		}
		return nil
	})
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		obj, err := r.st.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, fmt.Errorf("reading object %s: %w", h, err)
		}
		out = append(out, h)
		children, err := references(r.st, obj)
		if err != nil {
			return nil, err
		}
		stack = append(stack, children...)
	}
	return out, nil
}
