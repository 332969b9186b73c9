package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func keepCommand() cloudSpec {
	return cloudSpec{Name: "keep", Summary: "protect an environment from housekeeping (idle hibernation and deletion), within your cap", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).keep}
}

func (a *action) keep(ctx context.Context) (string, error) {
	e := a.env
	if max := a.bot.cfg.MaxKeptPerUser; max >= 0 && !e.Spec.Lifecycle.Keep && !a.bot.cfg.isAdmin(a.who) {
		var kept []*envs.Environment
		for _, o := range ownedBy(a.all, a.who) {
			if o.Spec.Lifecycle.Keep {
				kept = append(kept, o)
			}
		}
		if len(kept) >= max {
			return "", refuse("You already keep %d environments (%s), the most one person may. `/cloud unkeep NAME` one first.", len(kept), names(kept))
		}
	}
	return a.mutate(ctx, "**%s** is now protected from housekeeping (idle hibernation and deletion).", commit.Keep(true))
}
