package githubbot

import (
	"context"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// ReconcilerStatus answers "/env status" from a reconciler's last recorded
// status (*reconciler.Reconciler implements StatusOf).
type ReconcilerStatus struct {
	R interface {
		StatusOf(name string) *reconciler.Status
	}
}

// EnvironmentStatus returns the environment's recorded status.
func (s ReconcilerStatus) EnvironmentStatus(_ context.Context, name string) (envs.EnvironmentStatus, bool, error) {
	st := s.R.StatusOf(name)
	if st == nil {
		return envs.EnvironmentStatus{}, false, nil
	}
	return st.Status, true, nil
}
