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
//
// For each environment it first gathers what recording reads from outside
// (observe: git's last change of the file, the activity source), then runs
// the pure steps (recordOne). An environment whose observation is the one
// its recorded status was computed from keeps that very status (see
// recordMemo), so an idle pass copies and compares nothing.
func (r *Reconciler) record(ctx context.Context, p *Plan, desired map[string]*Desired, outcomes map[string]outcome, now time.Time) (map[string]*Status, []Transition, []Housekeeping) {
	now = now.UTC().Truncate(time.Second)
	next := make(map[string]*Status, len(p.Items))
	var ts []Transition
	var due []Housekeeping
	emit := func(name string, env *envs.Environment, notes []transitionNote) {
		for _, n := range notes {
			ts = append(ts, Transition{Kind: n.kind, Name: name, Environment: env, Reason: n.reason, Message: n.message})
		}
	}
	for i := range p.Items {
		it := &p.Items[i]
		prev := r.status[it.Name]
		d := desired[it.Name]
		if d == nil {
			// The file is gone: the item deletes the installation.
			o, applied := outcomes[it.Name+"/"+it.Installation.ID]
			st, note := recordRemoved(p, it, prev, o, applied)
			if st != nil {
				next[it.Name] = st
			} else if note != nil {
				emit(it.Name, prev.environment(), []transitionNote{*note})
			}
			continue
		}
		if it.Action == ActionDelete {
			continue // a duplicate installation of a live environment: no status of its own
		}
		o := r.observe(ctx, p.Commit, it, d, prev, outcomes, now)
		if m, ok := r.memo[it.Name]; ok && m.holds(o) {
			next[it.Name] = prev
			continue
		}
		st, notes := recordOne(o)
		notes = r.recordImage(it, st, notes)
		emit(it.Name, withStatus(d, st), notes)
		h, notices := r.housekeeping(d, st, now)
		if h != nil {
			due = append(due, *h)
		}
		ts = append(ts, notices...)
		next[it.Name] = st
		if outcomes != nil { // a dry run leaves the memo to real passes
			r.memo[it.Name] = newRecordMemo(o, st, h, r.cfg.Housekeeping.ExpiryNotice)
		}
	}
	for name := range r.memo {
		if desired[name] == nil && outcomes != nil {
			delete(r.memo, name) // gone (a dry run may plan other files)
		}
	}
	if outcomes == nil {
		ts = nil // a dry run tells nobody
	}
	// Every transition, housekeeping notices included, is of this commit
	// and this pass.
	for i := range ts {
		ts[i].Commit, ts[i].At = p.Commit, now
	}
	return next, ts, due
}

// observation is everything recording one environment reads: the plan's
// item, the file, the status recorded so far, what applying the item did,
// and what git and the activity source say. observe gathers it; the steps
// that turn it into a status are pure functions of it.
type observation struct {
	commit  string
	now     time.Time
	item    *Item
	desired *Desired
	prev    *Status
	// outcome is what applying the item did, if it was applied.
	outcome outcome
	applied bool
	// fileChanged is set when the file is not the one the status was
	// computed for; lastChange is then when git last changed it (zero if
	// unknown).
	fileChanged bool
	lastChange  time.Time
	// activity is the latest use the activity source knows of (zero: none).
	activity time.Time
	// prevPhase is the phase of the installation recorded so far; phase
	// that of the installation recorded now. Both are envwick's phases,
	// never a platform's state strings.
	prevPhase, phase platform.Phase
	// usageHold is why the installation's usage keeps it from idle
	// hibernation ("" when it does not): housekeeping reads it.
	usageHold string
}

// observe gathers the observation of an environment that has a file.
func (r *Reconciler) observe(ctx context.Context, commit string, it *Item, d *Desired, prev *Status, outcomes map[string]outcome, now time.Time) observation {
	o := observation{commit: commit, now: now, item: it, desired: d, prev: prev}
	o.outcome, o.applied = outcomes[it.Name]
	recorded := ""
	if prev != nil {
		recorded = prev.Reconciler.Blob
	}
	o.fileChanged = recorded != d.Blob
	if o.fileChanged && d.Err == nil {
		// A change to the file is activity.
		if t, err := r.repo.LastChange(ctx, commit, d.Path); err == nil {
			o.lastChange = t
		}
	}
	if d.Err == nil && r.cfg.Activity != nil {
		if t, ok := r.cfg.Activity.LastActivity(ctx, it.Name); ok {
			o.activity = t
		}
	}
	if prev != nil {
		o.prevPhase = r.phaseOf(prev.Status.Installation)
	}
	o.phase = o.prevPhase
	id := ""
	if inst := o.installation(); inst != nil {
		o.phase = r.classify(inst.State, inst.Phase)
		id = inst.ID
	} else if prev != nil {
		id = installationID(prev)
	}
	o.usageHold = r.usageHold(it.Name, id)
	return o
}

// installation is the installation to record: what the change returned,
// else what was observed (nil: keep what is recorded).
func (o *observation) installation() *platform.Installation {
	if o.applied && o.outcome.err == nil && o.outcome.inst != nil {
		return o.outcome.inst
	}
	return o.item.Installation
}

type transitionNote struct {
	kind            TransitionKind
	reason, message string
}

// recordOne computes the status of an environment that has a file and the
// transitions to announce: bookkeeping, then conditions, then the phase
// change. It is a pure function of the observation, and applying it to its
// own result with the same observation changes nothing and announces
// nothing (which recordMemo relies on).
func recordOne(o observation) (*Status, []transitionNote) {
	st := bookkeep(o)
	notes := markConditions(st, o)
	if t := phaseTransition(o, st); t != nil {
		notes = append(notes, *t)
	}
	return st, notes
}

// bookkeep copies the recorded status and brings its bookkeeping up to
// date: creation time, the file and last known spec, activity, the
// installation's generation and record, hibernation time.
func bookkeep(o observation) *Status {
	it, d := o.item, o.desired
	st := o.prev.DeepCopy()
	if st == nil {
		st = newStatus(it.Name)
		st.Status.CreatedAt = &metav1.Time{Time: o.now}
	}
	if d.Err == nil && d.Env != nil && (st.Reconciler.LastKnown == nil || o.fileChanged) {
		st.Reconciler.LastKnown = lastKnown(d.Env)
	}
	if o.fileChanged {
		st.Reconciler.Blob = d.Blob
		st.Status.ObservedCommit = o.commit
		if !o.lastChange.IsZero() {
			st.touch(o.lastChange)
		}
	}
	if !o.activity.IsZero() {
		st.touch(o.activity)
	}
	inst := o.installation()
	switch {
	case it.Action == ActionCreate && o.applied && o.outcome.err == nil:
		st.Reconciler.Generation = o.outcome.generation
		st.Reconciler.CreatePendingSince = nil
	case it.Action == ActionCreate:
		// The create failed, was held back or not tried (a dry run): it
		// may have reached the platform, so the next create looks first.
		if st.Reconciler.CreatePendingSince == nil {
			st.Reconciler.CreatePendingSince = &metav1.Time{Time: o.now}
		}
	case inst != nil:
		st.Reconciler.CreatePendingSince = nil
		if g := generationOf(it.Name, inst.Name); g > 0 {
			st.Reconciler.Generation = g
		}
	}
	if inst != nil {
		st.Status.Installation = installationStatus(inst)
	}
	switch o.phase {
	case platform.PhaseHibernated:
		if st.Status.HibernatedAt == nil {
			st.Status.HibernatedAt = &metav1.Time{Time: o.now}
		}
	case platform.PhaseStable:
		st.Status.HibernatedAt = nil
	}
	return st
}

// markConditions sets the Ready, Reconciling and Stalled conditions and the
// last error, and returns the failures to announce (each once: a first
// error, a newly stalled installation).
func markConditions(st *Status, o observation) []transitionNote {
	it, d := o.item, o.desired
	setter := st.setter()
	defer st.apply(setter)
	state := ""
	if st.Status.Installation != nil {
		state = st.Status.Installation.State
	}
	switch {
	case d.Err != nil:
		st.Status.LastError = d.Err.Error()
		conditions.MarkStalled(setter, envs.ReasonInvalid, "%s", d.Err.Error())
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonInvalid, "the environment file has errors; the installation is left as it is")
	case it.Suspended:
		conditions.Delete(setter, meta.ReconcilingCondition)
		conditions.Delete(setter, meta.StalledCondition)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonSuspended, "spec.suspend is set: the reconciler leaves this environment alone")
	case o.applied && o.outcome.deferred:
		// Backing off: keep what was recorded.
	case o.applied && o.outcome.err != nil:
		first := st.Status.LastError == ""
		st.Status.LastError = o.outcome.err.Error()
		conditions.MarkReconciling(setter, envs.ReasonProvisionerError, "retrying after an error")
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonProvisionerError, "%s", o.outcome.err.Error())
		if first {
			return []transitionNote{{TransitionFailed, envs.ReasonProvisionerError, string(it.Action) + " failed: " + o.outcome.err.Error()}}
		}
	case it.Stalled != "":
		wasStalled := conditions.IsStalled(setter)
		st.Status.LastError = it.Stalled
		conditions.MarkStalled(setter, envs.ReasonInstallationFailed, "%s", it.Stalled)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonInstallationFailed, "%s", it.Stalled)
		if !wasStalled {
			return []transitionNote{{TransitionFailed, envs.ReasonInstallationFailed, it.Stalled}}
		}
	case o.phase == platform.PhaseStable && !it.Action.mutates():
		markSettled(st, setter, envs.ReasonAvailable, "installation is stable")
	case o.phase == platform.PhaseHibernated && !it.Action.mutates():
		markSettled(st, setter, envs.ReasonHibernated, "installation is hibernated")
	default:
		st.Status.LastError = ""
		msg := "installation is " + state
		if state == "" || (o.applied && o.outcome.err == nil) {
			msg = string(it.Action) + " requested"
		}
		conditions.MarkReconciling(setter, envs.ReasonProvisioning, "%s", msg)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonProvisioning, "%s", msg)
	}
	return nil
}

// markSettled marks an installation that needs nothing: ready, no error.
func markSettled(st *Status, setter *envs.Environment, reason, msg string) {
	st.Status.LastError = ""
	conditions.Delete(setter, meta.ReconcilingCondition)
	conditions.Delete(setter, meta.StalledCondition)
	conditions.MarkTrue(setter, meta.ReadyCondition, reason, "%s", msg)
}

// phaseTransition is the transition the change of phase announces, if any.
// The first sight of an adopted installation announces nothing: its owner
// heard about it when it was made.
func phaseTransition(o observation, st *Status) *transitionNote {
	if o.prevPhase == o.phase || (o.prev == nil && o.item.Action == ActionAdopt) {
		return nil
	}
	url, state := "", ""
	if st.Status.Installation != nil {
		url, state = st.Status.Installation.URL, st.Status.Installation.State
	}
	switch {
	case o.phase == platform.PhaseStable && (o.prevPhase == platform.PhaseHibernated || o.prevPhase == platform.PhaseWakingUp):
		return &transitionNote{TransitionWokeUp, envs.ReasonAvailable, "woke up: " + url}
	case o.phase == platform.PhaseStable && o.prevPhase == platform.PhaseUpdating:
		return &transitionNote{TransitionUpdated, envs.ReasonAvailable, "update done: " + url}
	case o.phase == platform.PhaseStable:
		return &transitionNote{TransitionReady, envs.ReasonAvailable, "ready: " + url}
	case o.phase == platform.PhaseHibernated:
		return &transitionNote{TransitionHibernated, envs.ReasonHibernated, "hibernated"}
	case o.phase.Failed() && o.item.Stalled == "":
		return &transitionNote{TransitionFailed, envs.ReasonInstallationFailed, "installation is " + state}
	}
	return nil
}

// recordRemoved is the status of an environment whose file is gone, while
// its installation is being deleted: nil once the deletion succeeded, with
// the deleted transition (the last known owner and source say whom to
// tell). A deletion held back or failed keeps a status saying so.
func recordRemoved(p *Plan, it *Item, prev *Status, o outcome, applied bool) (*Status, *transitionNote) {
	if applied && o.err == nil {
		if prev == nil {
			return nil, nil
		}
		return nil, &transitionNote{TransitionDeleted, "FileRemoved", "installation " + it.Installation.Name + " deleted: the environment file was removed"}
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
	return st, nil
}

// recordMemo remembers, per environment, the observation its status was
// last computed from. Since recordOne applied to its own result changes
// nothing, an observation equal to the remembered one, starting from the
// status that computation produced, yields that same status: the pass keeps
// the object, and writeStatus knows it unchanged without encoding it.
// Housekeeping reads the clock, so the memo holds only until the first
// moment its answer could change (a notice window opening, a deadline).
type recordMemo struct {
	key   recordKey
	out   *Status
	until time.Time
}

// recordKey is the part of an observation recording reads, in a
// comparable form. The file's blob stands for its content and error.
type recordKey struct {
	action           Action
	stalled          string
	suspended        bool
	waiting          bool
	image            ItemImage // recordImage reads it
	blob, path       string
	fileErr          string
	hasInstallation  bool
	installation     envs.InstallationStatus
	activity         int64
	prevPhase, phase platform.Phase
	usageHold        string
}

func keyOf(o observation) recordKey {
	k := recordKey{action: o.item.Action, stalled: o.item.Stalled, suspended: o.item.Suspended, waiting: o.item.Waiting,
		blob: o.desired.Blob, path: o.desired.Path, activity: o.activity.Unix(), prevPhase: o.prevPhase, phase: o.phase,
		usageHold: o.usageHold}
	if o.item.Image != nil {
		k.image = *o.item.Image
	}
	if o.desired.Err != nil {
		// Not the blob's alone: a name used by two files fails both.
		k.fileErr = o.desired.Err.Error()
	}
	if inst := o.installation(); inst != nil {
		k.hasInstallation = true
		k.installation = envs.InstallationStatus{ID: inst.ID, Name: inst.Name, URL: inst.URL, State: inst.State, Phase: string(inst.Phase), Version: inst.Version}
	}
	return k
}

// newRecordMemo remembers a computation whose observation called the
// platform for nothing; an applied change, a mutating action or housekeeping
// due are never remembered.
func newRecordMemo(o observation, out *Status, due *Housekeeping, notice time.Duration) recordMemo {
	if o.applied || o.item.Action.mutates() || due != nil {
		return recordMemo{}
	}
	until := time.Unix(1<<62, 0)
	for _, at := range []*metav1.Time{out.Status.HibernateAt, out.Status.DeleteAt} {
		if at != nil && at.Add(-notice).Before(until) {
			until = at.Add(-notice)
		}
	}
	return recordMemo{key: keyOf(o), out: out, until: until}
}

// holds reports whether recording o would give the remembered status.
func (m recordMemo) holds(o observation) bool {
	return m.out != nil && m.out == o.prev && !o.applied && !o.fileChanged && o.now.Before(m.until) && m.key == keyOf(o)
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
	if s == nil {
		return ""
	}
	return r.classify(s.State, platform.Phase(s.Phase))
}

// classify is the phase of an installation in state: the one given, else
// the platform's classification (none without a state).
func (r *Reconciler) classify(state string, phase platform.Phase) platform.Phase {
	switch {
	case state == "":
		return ""
	case phase != "":
		return phase
	}
	return r.ext.platform.Classify(state)
}
