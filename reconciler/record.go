package reconciler

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// record works out the new status of every environment from the plan and
// what applying it did, the transitions people should hear about, and the
// housekeeping now due. It changes nothing itself.
func (r *Reconciler) record(ctx context.Context, p *Plan, desired map[string]*Desired, outcomes map[string]outcome, now time.Time) (map[string]*Status, []Transition, []Housekeeping) {
	now = now.UTC().Truncate(time.Second)
	next := make(map[string]*Status, len(p.Items))
	var ts []Transition
	var due []Housekeeping
	emit := func(kind TransitionKind, name string, env *envs.Environment, reason, msg string) {
		if outcomes == nil { // a dry run tells nobody
			return
		}
		ts = append(ts, Transition{Kind: kind, Name: name, Environment: env, Reason: reason, Message: msg})
	}
	for i := range p.Items {
		it := &p.Items[i]
		prev := r.status[it.Name]
		d := desired[it.Name]
		if d == nil {
			// The file is gone: the item deletes the installation.
			key := it.Name + "/" + it.Installation.ID
			o, applied := outcomes[key]
			if applied && o.err == nil {
				if prev != nil {
					// The spec is gone; the last known owner and source
					// say whom to tell.
					emit(TransitionDeleted, it.Name, prev.environment(), "FileRemoved", "installation "+it.Installation.Name+" deleted: the environment file was removed")
				}
				continue
			}
			st := prev.DeepCopy()
			if st == nil {
				st = newStatus(it.Name)
			}
			st.Status.Installation = installationStatus(it.Installation)
			setter := st.setter()
			switch {
			case it.Blocked:
				reason, why := blockedWhy(p, it)
				conditions.MarkFalse(setter, meta.ReadyCondition, reason, "%s", why)
				conditions.MarkReconciling(setter, reason, "deletion held back")
			case applied && o.err != nil:
				st.Status.LastError = o.err.Error()
				conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonProvisionerError, "%s", o.err.Error())
			}
			st.apply(setter)
			next[it.Name] = st
			continue
		}
		if it.Action == ActionDelete {
			continue // a duplicate installation of a live environment: no status of its own
		}
		st, t := r.recordOne(ctx, p.Commit, it, d, prev, outcomes, now)
		t = r.recordImage(it, st, t)
		next[it.Name] = st
		for _, k := range t {
			emit(k.kind, it.Name, withStatus(d, st), k.reason, k.message)
		}
		h, notices := r.housekeeping(d, st, now)
		if h != nil {
			due = append(due, *h)
		}
		ts = append(ts, notices...)
	}
	if outcomes == nil {
		ts = nil
	}
	// Every transition, housekeeping notices included, is of this commit
	// and this pass.
	for i := range ts {
		ts[i].Commit, ts[i].At = p.Commit, now
	}
	return next, ts, due
}

type transitionNote struct {
	kind            TransitionKind
	reason, message string
}

// recordOne computes the status of an environment that has a file.
func (r *Reconciler) recordOne(ctx context.Context, commit string, it *Item, d *Desired, prev *Status, outcomes map[string]outcome, now time.Time) (*Status, []transitionNote) {
	st := prev.DeepCopy()
	if st == nil {
		st = newStatus(it.Name)
		st.Status.CreatedAt = &metav1.Time{Time: now}
	}
	if d.Err == nil && d.Env != nil && (st.Reconciler.LastKnown == nil || st.Reconciler.Blob != d.Blob) {
		st.Reconciler.LastKnown = lastKnown(d.Env)
	}
	if st.Reconciler.Blob != d.Blob {
		st.Reconciler.Blob = d.Blob
		st.Status.ObservedCommit = commit
		if d.Err == nil {
			// A change to the file is activity.
			if t, err := r.repo.LastChange(ctx, commit, d.Path); err == nil && !t.IsZero() {
				st.touch(t)
			}
		}
	}
	if d.Err == nil && r.cfg.Activity != nil {
		if t, ok := r.cfg.Activity.LastActivity(ctx, it.Name); ok {
			st.touch(t)
		}
	}
	o, applied := outcomes[it.Name]
	inst := it.Installation
	if applied && o.err == nil && o.inst != nil {
		inst = o.inst
	}
	if it.Action == ActionCreate {
		switch {
		case applied && o.err == nil:
			st.Reconciler.Generation = o.generation
			st.Reconciler.CreatePendingSince = nil
		case st.Reconciler.CreatePendingSince == nil:
			st.Reconciler.CreatePendingSince = &metav1.Time{Time: now}
		}
	} else if inst != nil {
		st.Reconciler.CreatePendingSince = nil
		if g := generationOf(it.Name, inst.Name); g > 0 {
			st.Reconciler.Generation = g
		}
	}
	prevPhase := r.phaseOf(st.Status.Installation)
	if inst != nil {
		st.Status.Installation = installationStatus(inst)
	}
	newPhase := r.phaseOf(st.Status.Installation)
	newState := ""
	if st.Status.Installation != nil {
		newState = st.Status.Installation.State
	}
	switch newPhase {
	case platform.PhaseHibernated:
		if st.Status.HibernatedAt == nil {
			st.Status.HibernatedAt = &metav1.Time{Time: now}
		}
	case platform.PhaseStable:
		st.Status.HibernatedAt = nil
	}

	setter := st.setter()
	var notes []transitionNote
	wasStalled := conditions.IsStalled(setter)
	switch {
	case d.Err != nil:
		st.Status.LastError = d.Err.Error()
		conditions.MarkStalled(setter, envs.ReasonInvalid, "%s", d.Err.Error())
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonInvalid, "the environment file has errors; the installation is left as it is")
	case it.Suspended:
		conditions.Delete(setter, meta.ReconcilingCondition)
		conditions.Delete(setter, meta.StalledCondition)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonSuspended, "spec.suspend is set: the reconciler leaves this environment alone")
	case applied && o.deferred:
		// Backing off: keep what was recorded.
	case applied && o.err != nil:
		first := st.Status.LastError == ""
		st.Status.LastError = o.err.Error()
		conditions.MarkReconciling(setter, envs.ReasonProvisionerError, "retrying after an error")
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonProvisionerError, "%s", o.err.Error())
		if first {
			notes = append(notes, transitionNote{TransitionFailed, envs.ReasonProvisionerError, string(it.Action) + " failed: " + o.err.Error()})
		}
	case it.Stalled != "":
		st.Status.LastError = it.Stalled
		conditions.MarkStalled(setter, envs.ReasonInstallationFailed, "%s", it.Stalled)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonInstallationFailed, "%s", it.Stalled)
		if !wasStalled {
			notes = append(notes, transitionNote{TransitionFailed, envs.ReasonInstallationFailed, it.Stalled})
		}
	case newPhase == platform.PhaseStable && !it.Action.mutates():
		st.Status.LastError = ""
		conditions.Delete(setter, meta.ReconcilingCondition)
		conditions.Delete(setter, meta.StalledCondition)
		conditions.MarkTrue(setter, meta.ReadyCondition, envs.ReasonAvailable, "installation is stable")
	case newPhase == platform.PhaseHibernated && !it.Action.mutates():
		st.Status.LastError = ""
		conditions.Delete(setter, meta.ReconcilingCondition)
		conditions.Delete(setter, meta.StalledCondition)
		conditions.MarkTrue(setter, meta.ReadyCondition, envs.ReasonHibernated, "installation is hibernated")
	default:
		st.Status.LastError = ""
		msg := "installation is " + newState
		if newState == "" || (applied && o.err == nil) {
			msg = string(it.Action) + " requested"
		}
		conditions.MarkReconciling(setter, envs.ReasonProvisioning, "%s", msg)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonProvisioning, "%s", msg)
	}
	st.apply(setter)

	if prevPhase != newPhase && !(prev == nil && it.Action == ActionAdopt) {
		url := ""
		if st.Status.Installation != nil {
			url = st.Status.Installation.URL
		}
		switch {
		case newPhase == platform.PhaseStable && (prevPhase == platform.PhaseHibernated || prevPhase == platform.PhaseWakingUp):
			notes = append(notes, transitionNote{TransitionWokeUp, envs.ReasonAvailable, "woke up: " + url})
		case newPhase == platform.PhaseStable && prevPhase == platform.PhaseUpdating:
			notes = append(notes, transitionNote{TransitionUpdated, envs.ReasonAvailable, "update done: " + url})
		case newPhase == platform.PhaseStable:
			notes = append(notes, transitionNote{TransitionReady, envs.ReasonAvailable, "ready: " + url})
		case newPhase == platform.PhaseHibernated:
			notes = append(notes, transitionNote{TransitionHibernated, envs.ReasonHibernated, "hibernated"})
		case newPhase.Failed() && it.Stalled == "":
			notes = append(notes, transitionNote{TransitionFailed, envs.ReasonInstallationFailed, "installation is " + newState})
		}
	}
	return st, notes
}

// setter is a throwaway Environment carrying the status, so that
// fluxcd/pkg/runtime/conditions can manage its conditions.
func (s *Status) setter() *envs.Environment {
	return &envs.Environment{ObjectMeta: metav1.ObjectMeta{Name: s.Name}, Status: envs.EnvironmentStatus{Conditions: s.Status.Conditions}}
}

// apply takes the conditions back from a setter.
func (s *Status) apply(e *envs.Environment) { s.Status.Conditions = e.Status.Conditions }

// touch records activity at t if it is later than what is recorded.
func (s *Status) touch(t time.Time) {
	t = t.UTC().Truncate(time.Second)
	if s.Status.LastActivity == nil || t.After(s.Status.LastActivity.Time) {
		s.Status.LastActivity = &metav1.Time{Time: t}
	}
}

func installationStatus(inst *platform.Installation) *envs.InstallationStatus {
	if inst == nil {
		return nil
	}
	return &envs.InstallationStatus{ID: inst.ID, Name: inst.Name, URL: inst.URL, State: inst.State, Phase: string(inst.Phase), Version: inst.Version}
}

// withStatus is the environment a transition carries: the spec with the
// new status, or for a file that does not parse, the last known owner and
// source.
func withStatus(d *Desired, st *Status) *envs.Environment {
	if d.Env == nil {
		return st.environment()
	}
	e := d.Env.DeepCopy()
	e.Status = st.Status.DeepCopy()
	return e
}

// readyReason is the reason of the Ready condition, for metrics.
func readyReason(st *Status) string {
	for _, c := range st.Status.Conditions {
		if c.Type == meta.ReadyCondition {
			return c.Reason
		}
	}
	return "Unknown"
}

// phaseOf is the phase of a recorded installation: as recorded, or, for a
// status written before phases were recorded, the platform's classification
// of its state (so an upgrade does not read every environment as changed).
func (r *Reconciler) phaseOf(s *envs.InstallationStatus) platform.Phase {
	switch {
	case s == nil || s.State == "":
		return ""
	case s.Phase != "":
		return platform.Phase(s.Phase)
	}
	return r.ext.platform.Classify(s.State)
}
