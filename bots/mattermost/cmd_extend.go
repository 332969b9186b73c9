package mattermost

import (
	"context"
	"fmt"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func extendCommand() cloudSpec {
	return cloudSpec{Name: "extend", Summary: "keep an environment longer, within policy, e.g. extend conf42 3d", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment"), {Name: "DURATION", Kind: command.Duration, Help: "how much longer: 36h, 3d, 1w"}},
		Run:  (*action).extend}
}

// extend pushes the environment's end of life back by d, within policy:
// one extension is at most MaxExtension, and the end of life may not move
// further than MaxExtension from now. Using an environment postpones idle
// hibernation and deletion anyway (the command is recorded as activity);
// the commit moves an explicit expiry or time to live.
func (a *action) extend(ctx context.Context) (string, error) {
	e, d := a.env, a.in.Duration("DURATION")
	max := a.bot.cfg.MaxExtension
	if d > max {
		return "", refuse("You can extend by at most %s at a time.", envs.FormatDuration(max))
	}
	// The current end of life: the recorded deadline, or the explicit
	// expiry when no status is known yet, whichever is later.
	from := a.now
	if st, ok := a.status(e.Name); ok && st.DeleteAt != nil && st.DeleteAt.After(from) {
		from = st.DeleteAt.Time
	}
	if x := e.Spec.Lifecycle.ExpiresAt; x != nil && x.After(from) {
		from = x.Time
	}
	end := from.Add(d)
	if limit := a.now.Add(max); end.After(limit) {
		return "", refuse("That would keep **%s** until %s; the limit is %s from now (%s).",
			e.Name, day(end), envs.FormatDuration(max), day(limit))
	}
	lc := e.Spec.Lifecycle
	if lc.ExpiresAt == nil && lc.TTL == nil && a.bot.cfg.DefaultTTL == 0 {
		// No fixed end of life: only inactivity ends it, and this command
		// is activity.
		return fmt.Sprintf("**%s** has no fixed end of life; housekeeping counts from its last use, which is now.", e.Name), nil
	}
	return a.mutate(ctx, "Extended **%s** by "+envs.FormatDuration(d)+".", commit.Extend(d, a.now, a.bot.cfg.DefaultTTL))
}
