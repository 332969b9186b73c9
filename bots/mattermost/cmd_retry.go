package mattermost

import (
	"context"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	stalled := apimeta.FindStatusCondition(st.Conditions, meta.StalledCondition)
	ready := apimeta.FindStatusCondition(st.Conditions, meta.ReadyCondition)
	failed := (stalled != nil && stalled.Status == metav1.ConditionTrue) ||
		(ready != nil && ready.Status == metav1.ConditionFalse && st.LastError != "")
	if !failed {
		return "", refuse("**%s** has not failed (%s); there is nothing to retry.", a.name, stateOf(a.env, st))
	}
	return a.mutate(ctx, "Retrying **%s**. You will get a message when it is done.", commit.Retry())
}
