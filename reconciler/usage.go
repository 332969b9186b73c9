package reconciler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/envwick/envwick/reconciler/platform"
)

// Usage is what an installation's own users do, as its source last asked
// (reconciler/usage asks Mattermost's REST API, and optionally a
// Prometheus-compatible query).
type Usage struct {
	// InstallationID is the installation that answered.
	InstallationID string
	// LastPost is the time of the installation's last post (zero: none).
	LastPost time.Time
	// ActiveUsers is how many users were active on it (the last 30 days).
	ActiveUsers int
	// CheckedAt is when it was asked.
	CheckedAt time.Time
	// Err is set when the installation could not be asked (or has not been
	// yet): then it is never counted as idle.
	Err error
}

// UsageSource reports the usage of the installations it can ask. An
// environment it knows nothing of (no credentials on its installation, for
// one) is judged on git and bot activity alone.
type UsageSource interface {
	Usage(name string) (Usage, bool)
}

// RunningInstallation is an installation a usage source may ask: the
// recorded installation of an environment, stable and not hibernated.
type RunningInstallation struct {
	Name           string
	InstallationID string
	URL            string
}

// Running lists the running installations as of the last pass, by
// environment name, for a usage source to sweep.
func (r *Reconciler) Running() []RunningInstallation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RunningInstallation
	for _, name := range slices.Sorted(maps.Keys(r.status)) {
		in := r.status[name].Status.Installation
		if in == nil || in.ID == "" || in.URL == "" || r.phaseOf(in) != platform.PhaseStable {
			continue
		}
		out = append(out, RunningInstallation{Name: name, InstallationID: in.ID, URL: in.URL})
	}
	return out
}

// usageActivity is the activity the reconciler reads: what the bots
// report, and each installation's last post.
type usageActivity struct {
	bots  ActivitySource
	usage UsageSource
}

func (a usageActivity) LastActivity(ctx context.Context, name string) (time.Time, bool) {
	var last time.Time
	var ok bool
	if a.bots != nil {
		last, ok = a.bots.LastActivity(ctx, name)
	}
	if u, known := a.usage.Usage(name); known && u.Err == nil && u.LastPost.After(last) {
		last, ok = u.LastPost, true
	}
	return last, ok
}

// usageHold says why usage keeps an environment's installation from idle
// hibernation, or "" when it does not: an installation that could not be
// asked is never counted as idle, and one with more than MaxUsers active
// users is busy whatever the time of its last post.
func (r *Reconciler) usageHold(name, installationID string) string {
	if r.cfg.Usage == nil {
		return ""
	}
	u, ok := r.cfg.Usage.Usage(name)
	switch {
	case !ok || (installationID != "" && u.InstallationID != installationID):
		return ""
	case u.Err != nil:
		return "its installation could not be asked for its usage: " + u.Err.Error()
	case u.ActiveUsers > r.cfg.MaxUsers:
		return fmt.Sprintf("its installation has %d active users, more than %d", u.ActiveUsers, r.cfg.MaxUsers)
	}
	return ""
}

// installationID is the recorded installation of st, or "".
func installationID(st *Status) string {
	if st.Status.Installation == nil {
		return ""
	}
	return st.Status.Installation.ID
}
