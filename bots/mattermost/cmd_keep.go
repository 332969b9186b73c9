package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
)

func keepCommand() cloudSpec {
	return cloudSpec{Name: "keep", Summary: "protect an environment from housekeeping (idle hibernation and deletion), within your cap", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).keep}
}

// keep protects the environment; the committer's policy holds the kept
// cap inside the commit.
func (a *action) keep(ctx context.Context) (string, error) {
	return a.mutate(ctx, "**%s** is now protected from housekeeping (idle hibernation and deletion).", commit.Keep(true))
}
