package provisioner

import (
	"context"
	"errors"
	"fmt"

	"github.com/envwick/envwick/reconciler/platform"
)

var (
	_ platform.Executor       = (*Platform)(nil)
	_ platform.DeletionLocker = (*Platform)(nil)
)

// Exec runs command in the installation's active cluster installation
// (POST /api/cluster_installation/{id}/exec/{command}). A command that
// fails (the provisioner answers 409 with its output) is
// platform.ErrExecFailed.
func (p *Platform) Exec(ctx context.Context, installationID, command string, args []string) ([]byte, error) {
	out, err := p.Client.ExecInstallation(ctx, installationID, command, args...)
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, ErrNoClusterInstallation):
		return out, fmt.Errorf("%w: %w", platform.ErrNotRunning, err)
	case errors.Is(err, ErrConflict):
		// The answer to a failed command is its output.
		var apiErr *APIError
		if len(out) == 0 && errors.As(err, &apiErr) {
			out = []byte(apiErr.Message)
		}
		return out, fmt.Errorf("%w: %w", platform.ErrExecFailed, err)
	}
	return out, mapErr(err, false)
}

// SetDeletionLock locks or unlocks the installation's deletion
// (POST /api/security/installation/{id}/deletion/lock or /unlock).
func (p *Platform) SetDeletionLock(ctx context.Context, installationID string, locked bool) error {
	toggle := UnlockDeletion
	if locked {
		toggle = LockDeletion
	}
	return mapErr(p.Client.SetInstallationLock(ctx, installationID, toggle), false)
}
