package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func restartCommand() cloudSpec {
	return cloudSpec{Name: "restart", Summary: "restart an environment's Mattermost (a rolling restart of its pods)", Permission: ownerOrShared,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).restart}
}

// restart commits a new value of a restart variable: changing an
// environment variable rolls the pods, as the cloud plugin restarts.
func (a *action) restart(ctx context.Context) (string, error) {
	if a.env.Spec.State == envs.StateHibernated {
		return "", refuse("**%s** is hibernated; `/cloud wake-up %s` starts it again.", a.name, a.name)
	}
	return a.mutate(ctx, "Restarting **%s**: its pods roll one by one.", commit.Restart(a.now))
}
