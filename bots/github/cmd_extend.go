package githubbot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func (b *Bot) extendCommand() envSpec {
	return envSpec{Name: "extend", Permission: b.changes(), Run: b.cmdExtend,
		Args:    []command.Arg{{Name: "DURATION", Kind: command.Duration, Help: "how much longer, for example 36h, 3d or 1w"}},
		Summary: "keep the test server longer: an expiry moves to the later of now and itself, plus DURATION; a TTL grows by DURATION"}
}

func (b *Bot) cmdExtend(ctx context.Context, c *cmdContext) error {
	d := c.in.Duration("DURATION")
	b.recordActivity(ctx, c)
	res, err := b.committer.Update(ctx, c.meta, c.ref.Name, b.committer.Extension(d))
	if errors.Is(err, commit.ErrNotFound) {
		return b.replyNoServer(ctx, c)
	}
	if err != nil {
		return b.afterCommit(ctx, c.ref, res, err, phaseUpdating)
	}
	if res.Duplicate {
		return nil
	}
	if !res.Changed {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` has no fixed end of life: it is hibernated and deleted only when idle, and this command counts as activity.", c.user.GetLogin(), c.ref.Name))
	}
	return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` extended by %s (%s).", c.user.GetLogin(), c.ref.Name, envs.FormatDuration(d), lifetime(res.Environment)))
}

func lifetime(e *envs.Environment) string {
	if e == nil {
		return "lifetime unknown"
	}
	lc := e.Spec.Lifecycle
	switch {
	case lc.ExpiresAt != nil:
		return "expires " + lc.ExpiresAt.UTC().Format(time.RFC1123)
	case lc.TTL != nil:
		return "lifetime " + lc.TTL.String() + " from creation"
	}
	return "lifetime unchanged"
}
