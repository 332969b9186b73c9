package githubbot

import (
	"context"
	"errors"
	"fmt"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func (b *Bot) updateCommand() envSpec {
	return envSpec{Name: "update", Permission: b.changes(), Flags: serverFlags(), Run: b.cmdUpdate,
		Summary: "update the test server: set variables or size, move it to the head commit, wake it"}
}

func (b *Bot) cmdUpdate(ctx context.Context, c *cmdContext) error {
	if err := b.pull(ctx, c); err != nil {
		return err
	}
	b.recordActivity(ctx, c)
	sha := c.ref.HeadSHA
	muts := append(serverMutations(c.in),
		commit.SetVersion(b.cfg.image(c.repo), b.cfg.version(sha)),
		commit.SetPullRequestHead(sha),
		commit.SetState(envs.StateRunning))
	res, err := b.committer.Update(ctx, c.meta, c.ref.Name, muts...)
	if errors.Is(err, commit.ErrNotFound) {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s there is no test server for this pull request; use `/env create` or a test server label.", c.user.GetLogin()))
	}
	if err == nil && !res.Changed && !res.Duplicate {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` is already like that; nothing to change.", c.user.GetLogin(), c.ref.Name))
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseUpdating)
}
