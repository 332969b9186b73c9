package commit

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
)

// Mutation changes an environment in place. Mutations run inside the
// store's retry loop, so they must depend only on their argument and on
// values captured when they were built (never read a clock inside one).
type Mutation func(e *envs.Environment) error

// SetState asks for the running or hibernated power state.
func SetState(s envs.PowerState) Mutation {
	return func(e *envs.Environment) error {
		if s == envs.StateRunning {
			// Running is the default: leave the field out rather than
			// write what goes without saying.
			e.Spec.State = ""
			return nil
		}
		e.Spec.State = s
		return nil
	}
}

// Extend pushes the environment's end of life back by d from now: an
// explicit expiry moves to max(now, expiry)+d; without one, the TTL grows by
// d from its current value, or from defaultTTL when unset (the fleet default
// the reconciler would apply). With neither, the environment has no fixed
// end and nothing changes.
func Extend(d time.Duration, now time.Time, defaultTTL time.Duration) Mutation {
	return func(e *envs.Environment) error {
		if d <= 0 {
			return fmt.Errorf("extending by %s: the duration must be positive", envs.FormatDuration(d))
		}
		lc := &e.Spec.Lifecycle
		if lc.ExpiresAt != nil {
			from := lc.ExpiresAt.Time
			if from.Before(now) {
				from = now
			}
			lc.ExpiresAt = &metav1.Time{Time: from.Add(d).UTC().Truncate(time.Second)}
			return nil
		}
		ttl := defaultTTL
		if lc.TTL != nil {
			ttl = lc.TTL.Duration
		}
		if ttl == 0 {
			// No fixed end of life: only idleness ends it, and the
			// activity of asking restarts that clock. Nothing to write.
			return nil
		}
		lc.TTL = envs.NewDuration(ttl + d)
		return nil
	}
}

// Keep protects the environment from housekeeping (true) or lifts that
// protection (false).
func Keep(keep bool) Mutation {
	return func(e *envs.Environment) error {
		e.Spec.Lifecycle.Keep = keep
		return nil
	}
}

// DeletionLock sets (true) or lifts (false) the platform's deletion lock
// on the environment's installation (spec.lifecycle.deletionLocked).
func DeletionLock(locked bool) Mutation {
	return func(e *envs.Environment) error {
		e.Spec.Lifecycle.DeletionLocked = locked
		return nil
	}
}

// SetEnv sets Mattermost environment variables; an empty value removes the
// variable.
func SetEnv(vars map[string]string) Mutation {
	vars = maps.Clone(vars)
	return func(e *envs.Environment) error {
		for k, v := range vars {
			if v == "" {
				delete(e.Spec.Installation.Env, k)
				continue
			}
			if e.Spec.Installation.Env == nil {
				e.Spec.Installation.Env = map[string]string{}
			}
			e.Spec.Installation.Env[k] = v
		}
		if len(e.Spec.Installation.Env) == 0 {
			e.Spec.Installation.Env = nil
		}
		return nil
	}
}

// SetSize sets the installation size.
func SetSize(size string) Mutation {
	return func(e *envs.Environment) error {
		e.Spec.Installation.Size = size
		return nil
	}
}

// SetVersion sets the Mattermost image and version (an empty image leaves
// the image alone).
func SetVersion(image, version string) Mutation {
	return func(e *envs.Environment) error {
		if image != "" {
			e.Spec.Installation.Image = image
		}
		e.Spec.Installation.Version = version
		return nil
	}
}

// SetPullRequestHead records the pull request head an environment runs.
func SetPullRequestHead(sha string) Mutation {
	return func(e *envs.Environment) error {
		if e.Spec.Source.PullRequest == nil {
			return fmt.Errorf("environment %s was not asked for by a pull request", e.Name)
		}
		e.Spec.Source.PullRequest.HeadSHA = sha
		return nil
	}
}

// RestartEnv is the Mattermost environment variable Restart sets: changing
// any variable rolls the installation's pods, so a new value restarts
// Mattermost without changing what it runs (as the cloud plugin restarts).
const RestartEnv = "ENVWICK_RESTARTED_AT"

// Restart asks for a rolling restart, stamped with at.
func Restart(at time.Time) Mutation {
	return SetEnv(map[string]string{RestartEnv: at.UTC().Format(time.RFC3339Nano)})
}

// Share shares the environment with the team (allowUpdates: anyone may
// change what it runs), or stops sharing it (shared false).
func Share(shared, allowUpdates bool) Mutation {
	return func(e *envs.Environment) error {
		if !shared {
			e.Spec.Sharing = nil
			return nil
		}
		e.Spec.Sharing = &envs.Sharing{Shared: true, AllowUpdates: allowUpdates}
		return nil
	}
}

// Retry bumps the envwick.dev/retry counter, which the reconciler reads as
// a request to retry a failed create or update once.
func Retry() Mutation {
	return func(e *envs.Environment) error {
		n := 0
		if v, ok := e.Annotations[envs.AnnotationRetry]; ok {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 0 {
				// A hand-edited value: start the count again.
				n = 0
			}
		}
		if e.Annotations == nil {
			e.Annotations = map[string]string{}
		}
		e.Annotations[envs.AnnotationRetry] = strconv.Itoa(n + 1)
		return nil
	}
}
