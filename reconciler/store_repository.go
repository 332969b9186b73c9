package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/envwick/envwick/envs/store"
)

// StoreRepository adapts an envs/store repository to Repository.
type StoreRepository struct {
	Repo *store.Repo
}

var _ Repository = (*StoreRepository)(nil)

// Head fetches and returns the head of the branch people edit.
func (s *StoreRepository) Head(ctx context.Context) (string, error) {
	return s.Repo.Sync(ctx)
}

// Environments returns every environment file at commit, sorted by path;
// files sharing a name are all there (each with the error saying so).
func (s *StoreRepository) Environments(ctx context.Context, commit string) ([]Desired, error) {
	if commit == "" {
		return nil, nil
	}
	snap, err := s.Repo.Load(ctx, commit)
	if err != nil {
		return nil, err
	}
	out := make([]Desired, 0, len(snap.Files))
	for _, e := range snap.Files {
		out = append(out, Desired{Name: e.Name, Path: e.Path, Env: e.Env, Err: e.Err, Blob: e.Blob})
	}
	return out, nil
}

// Changed lists the paths that differ between two commits.
func (s *StoreRepository) Changed(ctx context.Context, from, to string) ([]string, error) {
	return s.Repo.Changed(ctx, from, to)
}

// EnvironmentFiles returns the environment files among paths at commit,
// parsed through the store's cache, without repository-level rules.
func (s *StoreRepository) EnvironmentFiles(ctx context.Context, commit string, paths []string) ([]Desired, error) {
	list, err := s.Repo.LoadFiles(ctx, commit, paths)
	if err != nil {
		return nil, err
	}
	out := make([]Desired, len(list))
	for i, e := range list {
		out[i] = Desired{Name: e.Name, Path: e.Path, Env: e.Env, Err: e.Err, Blob: e.Blob}
	}
	return out, nil
}

// LastChange returns when path last changed as of commit.
func (s *StoreRepository) LastChange(ctx context.Context, commit, path string) (time.Time, error) {
	return s.Repo.LastChange(ctx, commit, path)
}

// ReadStatus reads every status file at the head of the status branch. The
// read goes through a change that edits nothing, which the store turns into
// no commit.
func (s *StoreRepository) ReadStatus(ctx context.Context) (map[string]*Status, error) {
	out := map[string]*Status{}
	_, err := s.Repo.Commit(ctx, store.Change{
		Branch:  StatusBranch,
		Message: "Read status",
		Apply: func(tx *store.Tx) error {
			clear(out)
			for _, p := range tx.List(StatusDir + "/") {
				name, ok := statusName(p)
				if !ok {
					continue
				}
				data, _ := tx.Read(p)
				st, err := ParseStatus(data)
				if err != nil {
					// A damaged status file is recomputed, not fatal.
					continue
				}
				out[name] = st
			}
			return store.ErrNoChange
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteStatus commits the status changes of one pass as one commit.
func (s *StoreRepository) WriteStatus(ctx context.Context, message string, put map[string][]byte, del []string) error {
	_, err := s.Repo.Commit(ctx, store.Change{
		Branch:  StatusBranch,
		Message: message,
		Apply: func(tx *store.Tx) error {
			for name, data := range put {
				tx.Write(StatusPath(name), data)
			}
			for _, name := range del {
				tx.Delete(StatusPath(name))
			}
			return nil
		},
	})
	return err
}

// AllowDeletionsPath is a file in the envs repository through which an
// operator lets a pass delete more than the mass-deletion guard allows. It
// holds a number: how many deletions one pass may make.
const AllowDeletionsPath = ".envwick/allow-deletions"

// AllowedDeletions reads AllowDeletionsPath at commit; 0 when absent.
func (s *StoreRepository) AllowedDeletions(ctx context.Context, commit string) (int, error) {
	data, err := s.Repo.ReadFile(ctx, commit, AllowDeletionsPath)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return ParseAllowedDeletions(data)
}

// StatusOf reads the status of one environment from the head of the status
// branch, as last fetched; nil when there is none. Bots use it to show
// status without running a reconciler.
func (s *StoreRepository) StatusOf(ctx context.Context, name string) (*Status, error) {
	head, err := s.Repo.Head(StatusBranch)
	if err != nil || head == "" {
		return nil, err
	}
	data, err := s.Repo.ReadFile(ctx, head, StatusPath(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseStatus(data)
}
