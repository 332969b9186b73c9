package githubbot

import (
	"context"
	"errors"
	"fmt"

	"github.com/envwick/envwick/bots/commit"
)

func (b *Bot) retryCommand() envSpec {
	return envSpec{Name: "retry", Permission: b.changes(), Run: b.cmdRetry,
		Summary: "retry a failed create or update of the test server (a commit bumping its envwick.dev/retry counter)"}
}

// cmdRetry bumps the retry counter; the commit records who retried, and the
// reconciler retries once per new value.
func (b *Bot) cmdRetry(ctx context.Context, c *cmdContext) error {
	who := "@" + c.user.GetLogin()
	if b.status != nil {
		st, ok, err := b.status.EnvironmentStatus(ctx, c.ref.Name)
		if err != nil {
			return fmt.Errorf("reading status of %s: %w", c.ref.Name, err)
		}
		if ok && !st.Failed() {
			return b.fb.reply(ctx, c.ref, fmt.Sprintf("%s test server `%s` has not failed; there is nothing to retry.", who, c.ref.Name))
		}
	}
	res, err := b.committer.Update(ctx, c.meta, c.ref.Name, commit.Retry())
	if errors.Is(err, commit.ErrNotFound) {
		return b.replyNoServer(ctx, c)
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseUpdating)
}
