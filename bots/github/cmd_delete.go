package githubbot

import (
	"context"
	"errors"

	"github.com/envwick/envwick/bots/commit"
)

func (b *Bot) deleteCommand() envSpec {
	return envSpec{Name: "delete", Permission: b.changes(), Run: b.cmdDelete, Summary: "destroy the test server"}
}

func (b *Bot) cmdDelete(ctx context.Context, c *cmdContext) error {
	res, err := b.committer.Delete(ctx, c.meta, c.ref.Name)
	if errors.Is(err, commit.ErrNotFound) {
		return b.replyNoServer(ctx, c)
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseDestroying)
}
