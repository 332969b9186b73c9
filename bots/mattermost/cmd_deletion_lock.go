package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
)

func deletionLockCommand() cloudSpec {
	return cloudSpec{Name: "deletion-lock", Summary: "ask the platform to refuse deleting an environment's installation, within your cap", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).deletionLock}
}

func deletionUnlockCommand() cloudSpec {
	return cloudSpec{Name: "deletion-unlock", Summary: "lift the platform's deletion lock on an environment", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).deletionUnlock}
}

func (a *action) deletionLock(ctx context.Context) (string, error) {
	if a.env.Spec.Lifecycle.DeletionLocked {
		return "", refuse("**%s** is deletion-locked already.", a.name)
	}
	// The per-person cap is the committer's policy (MaxDeletionLocked).
	return a.mutate(ctx, "**%s** is deletion-locked: the platform will refuse to delete it until `/cloud deletion-unlock`.", commit.DeletionLock(true))
}

func (a *action) deletionUnlock(ctx context.Context) (string, error) {
	if !a.env.Spec.Lifecycle.DeletionLocked {
		return "", refuse("**%s** is not deletion-locked.", a.name)
	}
	return a.mutate(ctx, "**%s** is no longer deletion-locked.", commit.DeletionLock(false))
}
