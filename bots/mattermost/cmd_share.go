package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
)

func shareCommand() cloudSpec {
	return cloudSpec{Name: "share", Summary: "share an environment with the team: listed for everyone, changeable by them with --allow-updates", Permission: ownerOrAdmin,
		Args:  []command.Arg{nameArg("the environment")},
		Flags: []command.Flag{{Name: "allow-updates", Kind: command.Bool, Help: "let others change what it runs (update, restart, retry)"}},
		Run:   (*action).share}
}

func unshareCommand() cloudSpec {
	return cloudSpec{Name: "unshare", Summary: "stop sharing an environment", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).unshare}
}

func (a *action) share(ctx context.Context) (string, error) {
	if a.in.Bool("allow-updates") {
		return a.mutate(ctx, "**%s** is shared with the team; others may update, restart and retry it.", commit.Share(true, true))
	}
	return a.mutate(ctx, "**%s** is shared with the team; others may not change it.", commit.Share(true, false))
}

func (a *action) unshare(ctx context.Context) (string, error) {
	if sh := a.env.Spec.Sharing; sh == nil || !sh.Shared {
		return "", refuse("**%s** is not shared.", a.name)
	}
	return a.mutate(ctx, "**%s** is no longer shared.", commit.Share(false, false))
}
