package commit

import (
	"context"
	"errors"
)

// The types below are what the Committer needs from the envs repository
// store (envs/store). They follow its contract in docs/architecture.md.

// ErrNoChange, returned from Change.Apply, makes no commit.
var ErrNoChange = errors.New("no change")

// Repo is the envs repository as the Committer uses it.
type Repo interface {
	// Commit applies c at the branch head and pushes. It returns the new
	// commit, or "" when Apply changed nothing. Apply may run more than once.
	Commit(ctx context.Context, c Change) (commit string, err error)
}

// Change is one commit to make.
type Change struct {
	Message  string
	Author   Person
	Trailers []Trailer
	Apply    func(Tree) error
}

// Trailer is one "Key: value" line at the end of a commit message.
type Trailer struct {
	Key   string
	Value string
}

// Tree is the envs repository tree at the branch head, being edited.
type Tree interface {
	Read(path string) ([]byte, error)
	Write(path string, data []byte) error
	Delete(path string) error
	// FindEnvironment returns the path of the environment's file.
	FindEnvironment(name string) (path string, ok bool, err error)
}
