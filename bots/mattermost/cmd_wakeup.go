package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func wakeUpCommand() cloudSpec {
	return cloudSpec{Name: "wake-up", Aliases: []string{"wakeup"}, Summary: "wake a hibernated environment up", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).wakeUp}
}

func (a *action) wakeUp(ctx context.Context) (string, error) {
	return a.mutate(ctx, "Waking **%s** up. You will get a message when it is running.", commit.SetState(envs.StateRunning))
}
