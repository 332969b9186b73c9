package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
)

func unkeepCommand() cloudSpec {
	return cloudSpec{Name: "unkeep", Summary: "let housekeeping hibernate and delete an environment again", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).unkeep}
}

func (a *action) unkeep(ctx context.Context) (string, error) {
	return a.mutate(ctx, "**%s** is no longer protected from housekeeping.", commit.Keep(false))
}
