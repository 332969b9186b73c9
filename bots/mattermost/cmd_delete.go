package mattermost

import (
	"context"
	"fmt"

	"github.com/envwick/envwick/bots/command"
)

func deleteCommand() cloudSpec {
	return cloudSpec{Name: "delete", Summary: "delete an environment: the file goes, the reconciler deletes the installation", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).delete}
}

func (a *action) delete(ctx context.Context) (string, error) {
	res, err := a.bot.commits.Delete(ctx, a.meta(), a.name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Deleting **%s**%s. You will get a message when it is gone.", a.name, committed(res)), nil
}
