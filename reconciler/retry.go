package reconciler

import (
	"fmt"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// RetryEnvVar carries an environment's envwick.dev/retry counter (bumped by
// /cloud retry and /env retry) into its installation's environment. A new
// value is a change the platform must apply, so a failed update is sent
// again (planOne retries a failed update whose patch is not empty); and the
// installation records the last value acted on, across restarts, without
// bookkeeping of its own.
const RetryEnvVar = "ENVWICK_RETRY"

// withRetry adds the retry counter, when the environment has one, to the
// installation env vars wanted.
func withRetry(env map[string]string, e *envs.Environment) map[string]string {
	if v := e.Annotations[envs.AnnotationRetry]; v != "" {
		env[RetryEnvVar] = v
	}
	return env
}

// retryAsked reports the retry counter of e when its failed installation
// was not created or updated with that value: a retry asked since.
func retryAsked(e *envs.Environment, inst *platform.Installation) (string, bool) {
	v := e.Annotations[envs.AnnotationRetry]
	return v, v != "" && inst.Env[RetryEnvVar] != v
}

// retryCreate retries a failed create: the failed installation goes, and
// the next pass creates the environment again, carrying the new counter.
// The mass-deletion guard counts this deletion like any other.
func retryCreate(it Item, inst *platform.Installation, retry string) Item {
	it.Action = ActionDelete
	it.Reason = fmt.Sprintf("retry %s asked: delete failed installation %s (%s, %s); the next pass creates it again", retry, inst.Name, inst.ID, inst.State)
	return it
}
