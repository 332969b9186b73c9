package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func hibernateCommand() cloudSpec {
	return cloudSpec{Name: "hibernate", Summary: "hibernate an environment", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).hibernate}
}

func (a *action) hibernate(ctx context.Context) (string, error) {
	return a.mutate(ctx, "Hibernating **%s**. You will get a message when it is hibernated.", commit.SetState(envs.StateHibernated))
}
