package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
)

func retryCommand() cloudSpec {
	return cloudSpec{Name: "retry", Summary: "retry a failed create or update", Permission: ownerOrShared,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).retry}
}

// retry bumps the retry counter; the commit records who retried, and the
// reconciler retries once per new value.
func (a *action) retry(ctx context.Context) (string, error) {
	st, _ := a.status(a.name)
	if !st.Failed() {
		return "", refuse("**%s** has not failed (%s); there is nothing to retry.", a.name, stateOf(a.env, st))
	}
	return a.mutate(ctx, "Retrying **%s**. You will get a message when it is done.", commit.Retry())
}
