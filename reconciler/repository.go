package reconciler

import (
	"context"
	"time"
)

// Repository is what the reconciler needs from the envs repository. It is
// defined here, where it is consumed; NewStoreRepository adapts envs/store.
type Repository interface {
	// Head fetches and returns the commit at the tip of the branch people
	// edit.
	Head(ctx context.Context) (string, error)
	// Environments returns every environment file at commit, without
	// defaults, each with its own parse or validation error (files that
	// share a name are each returned, each with an error).
	Environments(ctx context.Context, commit string) ([]Desired, error)
	// LastChange returns when the file at path last changed, as of commit.
	LastChange(ctx context.Context, commit, path string) (time.Time, error)
	// ReadStatus returns every status file on the status branch.
	ReadStatus(ctx context.Context) (map[string]*Status, error)
	// WriteStatus makes one commit on the status branch writing put and
	// removing del (environment names).
	WriteStatus(ctx context.Context, message string, put map[string][]byte, del []string) error
	// AllowedDeletions returns how many deletions an operator allowed
	// through the repository at commit, past the mass-deletion guard
	// (0 when none).
	AllowedDeletions(ctx context.Context, commit string) (int, error)
}
