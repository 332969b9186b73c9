package platform

import (
	"context"
	"errors"
)

// Optional capabilities. A provider offers them by implementing the
// interface; the reconciler checks with a type assertion and reports an
// environment that asks for one its platform lacks, instead of failing.

// Executor runs a command inside an installation (the provisioner's exec
// API on the installation's cluster installation): loading test data,
// mmctl for people. The output comes back whether or not the command
// failed; a command that ran and failed is an ErrExecFailed.
type Executor interface {
	Exec(ctx context.Context, installationID, command string, args []string) ([]byte, error)
}

// DeletionLocker sets the platform's own deletion lock on an installation:
// a locked installation refuses deletion (ErrDeletionLocked) until it is
// unlocked. Installation.DeletionLocked reports the lock.
type DeletionLocker interface {
	SetDeletionLock(ctx context.Context, installationID string, locked bool) error
}

var (
	// ErrExecFailed: the command ran and failed.
	ErrExecFailed = errors.New("command failed")
	// ErrNotRunning: the installation has nowhere to run a command yet
	// (no active cluster installation).
	ErrNotRunning = errors.New("installation is not running")
	// ErrDeletionLocked: a delete refused by the deletion lock.
	ErrDeletionLocked = errors.New("deletion locked")
)
