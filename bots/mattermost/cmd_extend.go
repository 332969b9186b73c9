package mattermost

import (
	"context"
	"fmt"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/envs"
)

func extendCommand() cloudSpec {
	return cloudSpec{Name: "extend", Summary: "keep an environment longer, within policy, e.g. extend conf42 3d", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment"), {Name: "DURATION", Kind: command.Duration, Help: "how much longer: 36h, 3d, 1w"}},
		Run:  (*action).extend}
}

// extend pushes the environment's end of life back by DURATION, within the
// committer's policy (one extension, and the lifetime it gives). Using an
// environment postpones idle hibernation and deletion anyway (the command is
// recorded as activity); the commit moves an explicit expiry or time to
// live.
func (a *action) extend(ctx context.Context) (string, error) {
	d := a.in.Duration("DURATION")
	res, err := a.bot.commits.Update(ctx, a.meta(), a.name, a.bot.commits.Extension(d))
	switch {
	case err != nil:
		return "", err
	case !res.Changed && !res.Duplicate:
		// No fixed end of life: only inactivity ends it, and this command
		// is activity.
		return fmt.Sprintf("**%s** has no fixed end of life; housekeeping counts from its last use, which is now.", a.name), nil
	}
	return fmt.Sprintf("Extended **%s** by %s.", a.name, envs.FormatDuration(d)) + committed(res), nil
}
