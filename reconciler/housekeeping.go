package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
)

// HousekeepingPolicy bounds idle and hibernated environments fleet-wide;
// spec.lifecycle overrides it per environment.
type HousekeepingPolicy struct {
	// HibernateAfterIdle hibernates a running environment after this long
	// without activity (default 7 days).
	HibernateAfterIdle time.Duration
	// DeleteAfterHibernated deletes an environment this long after it was
	// hibernated (default 14 days).
	DeleteAfterHibernated time.Duration
	// ExpiryNotice is how long before a hibernation or deletion the owner
	// hears about it (default 24 hours).
	ExpiryNotice time.Duration
	// Disabled turns housekeeping off (deadlines are still recorded).
	Disabled bool
}

func (h *HousekeepingPolicy) setDefaults() {
	if h.HibernateAfterIdle <= 0 {
		h.HibernateAfterIdle = 7 * 24 * time.Hour
	}
	if h.DeleteAfterHibernated <= 0 {
		h.DeleteAfterHibernated = 14 * 24 * time.Hour
	}
	if h.ExpiryNotice <= 0 {
		h.ExpiryNotice = 24 * time.Hour
	}
}

// Housekeeper commits housekeeping decisions to the branch people edit.
// The reconciler decides; committing is the committing service's job
// (cmd/envwick wires bots/commit's), so housekeeping commits are validated
// and carry the same trailers as every bot commit. Each method gets the
// environment, the rule and its figures (for the Source trailer, such as
// "idle 7d, last activity 2026-11-20T10:02Z") and the commit message. An
// environment gone, broken or already hibernated since the decision is
// left alone.
type Housekeeper interface {
	Hibernate(ctx context.Context, name, rule, message string) error
	Delete(ctx context.Context, name, rule, message string) error
}

// errNoHousekeeper: housekeeping is due and nothing can commit it.
var errNoHousekeeper = errors.New("no Housekeeper is configured to commit it (reconciler.Config.Housekeeper), and housekeeping is not disabled")

// housekeep commits h through the configured Housekeeper.
func (r *Reconciler) housekeep(ctx context.Context, h Housekeeping) error {
	if r.cfg.Housekeeper == nil {
		return errNoHousekeeper
	}
	if h.Action == HousekeepDelete {
		return r.cfg.Housekeeper.Delete(ctx, h.Name, h.Source, h.Message())
	}
	return r.cfg.Housekeeper.Hibernate(ctx, h.Name, h.Source, h.Message())
}

// HousekeepingAction is what housekeeping commits.
type HousekeepingAction string

const (
	// HousekeepHibernate commits "state: hibernated".
	HousekeepHibernate HousekeepingAction = "hibernate"
	// HousekeepDelete commits the removal of the environment file.
	HousekeepDelete HousekeepingAction = "delete"
)

// Housekeeping is one housekeeping commit: the decision and why.
type Housekeeping struct {
	Name   string             `json:"name"`
	Path   string             `json:"path"`
	Action HousekeepingAction `json:"action"`
	// Reason is the sentence the commit message gives.
	Reason string `json:"reason"`
	// Source is the rule and its figures, in the words of the Source
	// trailer: "idle 7d, last activity 2026-11-20T10:02Z".
	Source string `json:"source"`
}

// Message is the commit message for h: a subject naming the change and a
// body saying why, so that git log explains every change to the fleet.
func (h Housekeeping) Message() string {
	verb := "Hibernate"
	if h.Action == HousekeepDelete {
		verb = "Delete"
	}
	return fmt.Sprintf("%s %s: %s\n\n%s\nThis commit was made by envwick housekeeping; revert it to undo.\n", verb, h.Name, h.Reason, capitalise(h.Reason)+".")
}

func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// housekeeping records the deadlines of an environment in its status and
// returns the housekeeping due now, or else the "expiring" notices due now
// (one per deadline within ExpiryNotice).
func (r *Reconciler) housekeeping(d *Desired, st *Status, now time.Time) (*Housekeeping, []Transition) {
	st.Status.HibernateAt, st.Status.DeleteAt = nil, nil
	if d.Err != nil || d.Env == nil || d.Env.Spec.Suspend {
		return nil, nil
	}
	spec := d.Env.Spec
	lc := spec.Lifecycle
	pol := r.cfg.Housekeeping
	idle := durationOr(lc.HibernateAfterIdle, pol.HibernateAfterIdle)
	afterHibernated := durationOr(lc.DeleteAfterHibernated, pol.DeleteAfterHibernated)

	lastActivity := now
	if st.Status.LastActivity != nil {
		lastActivity = st.Status.LastActivity.Time
	} else if st.Status.CreatedAt != nil {
		lastActivity = st.Status.CreatedAt.Time
	}

	var hibernateAt, deleteAt time.Time
	var deleteWhy, deleteRule string
	consider := func(t time.Time, why, rule string) {
		if !t.IsZero() && (deleteAt.IsZero() || t.Before(deleteAt)) {
			deleteAt, deleteWhy, deleteRule = t, why, rule
		}
	}
	if lc.ExpiresAt != nil {
		consider(lc.ExpiresAt.Time, "expired at "+lc.ExpiresAt.UTC().Format(time.RFC3339), "expiresAt "+minute(lc.ExpiresAt.Time))
	}
	if lc.TTL != nil && st.Status.CreatedAt != nil {
		consider(st.Status.CreatedAt.Add(lc.TTL.Duration), "its time to live of "+envs.FormatDuration(lc.TTL.Duration)+" is over",
			"ttl "+envs.FormatDuration(lc.TTL.Duration)+", created "+minute(st.Status.CreatedAt.Time))
	}
	if !lc.Keep {
		if spec.State == envs.StateHibernated {
			since := lastActivity
			if st.Status.HibernatedAt != nil && st.Status.HibernatedAt.After(since) {
				since = st.Status.HibernatedAt.Time
			}
			consider(since.Add(afterHibernated), "hibernated for "+envs.FormatDuration(afterHibernated)+" without activity",
				"hibernated "+envs.FormatDuration(afterHibernated)+", since "+minute(since))
		} else if hold := r.usageHold(d.Name, installationID(st)); hold == "" {
			hibernateAt = lastActivity.Add(idle)
		}
	}
	if lc.DeletionLocked {
		deleteAt = time.Time{} // the platform would refuse; the lock says keep it
	}
	hibernateWhy := "no activity for " + envs.FormatDuration(idle) + " (last activity " + lastActivity.UTC().Format(time.RFC3339) + ")"
	hibernateRule := "idle " + envs.FormatDuration(idle) + ", last activity " + minute(lastActivity)
	st.Status.HibernateAt = timeOrNil(hibernateAt)
	st.Status.DeleteAt = timeOrNil(deleteAt)
	if pol.Disabled {
		return nil, nil
	}
	switch {
	case !deleteAt.IsZero() && !now.Before(deleteAt):
		return &Housekeeping{Name: d.Name, Path: d.Path, Action: HousekeepDelete, Reason: deleteWhy, Source: deleteRule}, nil
	case !hibernateAt.IsZero() && !now.Before(hibernateAt):
		return &Housekeeping{Name: d.Name, Path: d.Path, Action: HousekeepHibernate, Reason: hibernateWhy, Source: hibernateRule}, nil
	}
	var notices []Transition
	notice := func(action HousekeepingAction, at *metav1.Time, notified **metav1.Time, verb, why string) {
		// Recorded in the status, so a restart does not send it again.
		if !noticeDue(at, notified, now, pol.ExpiryNotice) {
			return
		}
		notices = append(notices, Transition{Kind: TransitionExpiring, Name: d.Name, Environment: withStatus(d, st),
			Reason: "Expiring", Message: "will be " + verb + " at " + at.UTC().Format(time.RFC3339) + ": " + why,
			Deadline: at.Time, DeadlineAction: action})
	}
	notice(HousekeepDelete, st.Status.DeleteAt, &st.Reconciler.ExpiryNotified, "deleted", deleteWhy)
	notice(HousekeepHibernate, st.Status.HibernateAt, &st.Reconciler.HibernationNotified, "hibernated", hibernateWhy)
	return nil, notices
}

// minute writes a time as the Source trailer does: UTC, to the minute
// (2026-11-20T10:02Z).
func minute(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

func durationOr(d *envs.Duration, def time.Duration) time.Duration {
	if d != nil && d.Duration > 0 {
		return d.Duration
	}
	return def
}

func timeOrNil(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	return &metav1.Time{Time: t.UTC().Truncate(time.Second)}
}
