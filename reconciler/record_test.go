package reconciler

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// A removed file leaves no spec; the deleted transition still says whom to
// tell, from what the status branch remembers.
func TestDeletedTransitionCarriesLastKnownSpec(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "same reconciler", true: "after a restart"}[restart], func(t *testing.T) {
			h := newHarness(t)
			r := h.reconciler()
			h.put(env("pr-7", func(e *envs.Environment) {
				e.Spec.Owner.Mattermost = "alice.mm"
				e.Spec.Source.PullRequest = &envs.PullRequestSource{Repository: "acme/app", Number: 7, HeadSHA: "0123456789abcdef"}
			}))
			h.pass(r)
			h.settle()
			h.pass(r)
			h.notes.take()
			if restart {
				r = h.reconciler()
			}
			h.remove("pr-7")
			h.pass(r)
			var deleted *Transition
			for _, tr := range h.notes.take() {
				if tr.Kind == TransitionDeleted && tr.Name == "pr-7" {
					deleted = &tr
				}
			}
			if deleted == nil {
				t.Fatal("no deleted transition")
			}
			if o := deleted.Owner(); o.GitHub != "alice" || o.Mattermost != "alice.mm" {
				t.Errorf("owner %+v", o)
			}
			if pr := deleted.Source().PullRequest; pr == nil || pr.Repository != "acme/app" || pr.Number != 7 || deleted.HeadSHA() != "0123456789abcdef" {
				t.Errorf("source %+v", deleted.Source())
			}
			if deleted.Environment.Status.Installation == nil || deleted.Environment.Name != "pr-7" {
				t.Errorf("environment %+v", deleted.Environment)
			}
		})
	}
}

// recordCase builds an observation for the pure record steps. States are
// not the provisioner's: the steps read phases only.
func recordObservation(prev *Status, it Item, d *Desired, o *outcome) observation {
	ob := observation{commit: "c0ffee", now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), item: &it, desired: d, prev: prev}
	if o != nil {
		ob.outcome, ob.applied = *o, true
	}
	recorded := ""
	if prev != nil {
		recorded = prev.Reconciler.Blob
		if prev.Status.Installation != nil {
			ob.prevPhase = platform.Phase(prev.Status.Installation.Phase)
		}
	}
	ob.fileChanged = recorded != d.Blob
	ob.phase = ob.prevPhase
	if inst := ob.installation(); inst != nil {
		ob.phase = inst.Phase
	}
	return ob
}

func recordedStatus(name, state string, phase platform.Phase, gen int, ready string) *Status {
	st := newStatus(name)
	st.Reconciler.Blob, st.Reconciler.Generation = "blob-1", gen
	st.Status.CreatedAt = &metav1.Time{Time: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
	st.Status.Installation = &envs.InstallationStatus{ID: "i-1", Name: installationName(name, gen), State: state, Phase: string(phase)}
	st.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: ready, Message: "m"}}
	return st
}

func TestRecordSteps(t *testing.T) {
	inst := func(name, state string, phase platform.Phase) *platform.Installation {
		return &platform.Installation{ID: "i-1", Name: name, State: state, Phase: phase, URL: "https://" + name + ".test"}
	}
	file := &Desired{Name: "a", Path: "environments/a.yaml", Blob: "blob-1", Env: env("a")}
	edited := &Desired{Name: "a", Path: "environments/a.yaml", Blob: "blob-2", Env: env("a")}
	broken := &Desired{Name: "a", Path: "environments/a.yaml", Blob: "blob-3", Err: errors.New("environments/a.yaml:3:1: spec: is missing")}
	lost := errors.New("connection reset")
	cases := []struct {
		name  string
		prev  *Status
		item  Item
		file  *Desired
		out   *outcome
		ready string // reason of Ready
		notes []TransitionKind
		check func(t *testing.T, st *Status)
	}{
		{name: "first create requested", item: Item{Name: "a", Action: ActionCreate}, file: file,
			out:   &outcome{action: ActionCreate, inst: inst("a", "making", platform.PhaseCreating), generation: 1},
			ready: envs.ReasonProvisioning,
			check: func(t *testing.T, st *Status) {
				if st.Status.CreatedAt == nil || st.Reconciler.Generation != 1 || st.Reconciler.CreatePendingSince != nil {
					t.Errorf("bookkeeping %+v", st.Reconciler)
				}
				if st.Status.ObservedCommit != "c0ffee" || st.Reconciler.Blob != "blob-1" || st.Reconciler.LastKnown == nil {
					t.Errorf("file not recorded: %+v", st)
				}
				if c := conditions.Get(withStatus(file, st), meta.ReadyCondition); c.Message != "create requested" {
					t.Errorf("message %q", c.Message)
				}
			}},
		{name: "create answered with an error", item: Item{Name: "a", Action: ActionCreate}, file: file,
			out: &outcome{action: ActionCreate, err: lost}, ready: envs.ReasonProvisionerError, notes: []TransitionKind{TransitionFailed},
			check: func(t *testing.T, st *Status) {
				if st.Reconciler.CreatePendingSince == nil || st.Status.LastError != lost.Error() {
					t.Errorf("pending create not recorded: %+v", st)
				}
			}},
		{name: "second error is not announced again", prev: func() *Status {
			st := recordedStatus("a", "", "", 1, envs.ReasonProvisionerError)
			st.Status.Installation, st.Status.LastError = nil, "earlier"
			return st
		}(), item: Item{Name: "a", Action: ActionCreate}, file: file,
			out: &outcome{action: ActionCreate, err: lost}, ready: envs.ReasonProvisionerError},
		{name: "creating to stable is ready", prev: recordedStatus("a", "making", platform.PhaseCreating, 1, envs.ReasonProvisioning),
			item: Item{Name: "a", Action: ActionNone, Installation: inst("a", "running", platform.PhaseStable)}, file: file,
			ready: envs.ReasonAvailable, notes: []TransitionKind{TransitionReady}},
		{name: "a state change within a phase is no transition", prev: recordedStatus("a", "making", platform.PhaseCreating, 1, envs.ReasonProvisioning),
			item: Item{Name: "a", Action: ActionNone, Waiting: true, Installation: inst("a", "making-dns", platform.PhaseCreating)}, file: file,
			ready: envs.ReasonProvisioning,
			check: func(t *testing.T, st *Status) {
				if c := conditions.Get(withStatus(file, st), meta.ReadyCondition); c.Message != "installation is making-dns" {
					t.Errorf("message %q", c.Message)
				}
			}},
		{name: "updating to stable is updated", prev: recordedStatus("a", "patching", platform.PhaseUpdating, 1, envs.ReasonProvisioning),
			item: Item{Name: "a", Action: ActionNone, Installation: inst("a", "running", platform.PhaseStable)}, file: file,
			ready: envs.ReasonAvailable, notes: []TransitionKind{TransitionUpdated}},
		{name: "waking to stable is woke up", prev: recordedStatus("a", "waking", platform.PhaseWakingUp, 1, envs.ReasonProvisioning),
			item: Item{Name: "a", Action: ActionNone, Installation: inst("a", "running", platform.PhaseStable)}, file: file,
			ready: envs.ReasonAvailable, notes: []TransitionKind{TransitionWokeUp}},
		{name: "hibernated", prev: recordedStatus("a", "sleeping", platform.PhaseHibernating, 1, envs.ReasonProvisioning),
			item: Item{Name: "a", Action: ActionNone, Installation: inst("a", "asleep", platform.PhaseHibernated)}, file: file,
			ready: envs.ReasonHibernated, notes: []TransitionKind{TransitionHibernated},
			check: func(t *testing.T, st *Status) {
				if st.Status.HibernatedAt == nil {
					t.Error("hibernation time not recorded")
				}
			}},
		{name: "failed installation stalls once", prev: recordedStatus("a", "making", platform.PhaseCreating, 1, envs.ReasonProvisioning),
			item: Item{Name: "a", Action: ActionNone, Stalled: "installation is broken", Installation: inst("a", "broken", platform.PhaseFailed)}, file: file,
			ready: envs.ReasonInstallationFailed, notes: []TransitionKind{TransitionFailed}},
		{name: "adopting announces nothing", item: Item{Name: "a", Action: ActionAdopt, Installation: inst("a-3", "running", platform.PhaseStable)}, file: file,
			ready: envs.ReasonAvailable,
			check: func(t *testing.T, st *Status) {
				if st.Reconciler.Generation != 3 {
					t.Errorf("generation %d, want 3 from the name", st.Reconciler.Generation)
				}
			}},
		{name: "an edited file is activity and a new observed commit", prev: recordedStatus("a", "running", platform.PhaseStable, 1, envs.ReasonAvailable),
			item: Item{Name: "a", Action: ActionNone, Installation: inst("a", "running", platform.PhaseStable)}, file: edited,
			ready: envs.ReasonAvailable,
			check: func(t *testing.T, st *Status) {
				if st.Reconciler.Blob != "blob-2" || st.Status.ObservedCommit != "c0ffee" {
					t.Errorf("file change not recorded: %+v", st)
				}
			}},
		{name: "a broken file leaves the installation recorded", prev: recordedStatus("a", "running", platform.PhaseStable, 1, envs.ReasonAvailable),
			item: Item{Name: "a", Action: ActionNone, Stalled: broken.Err.Error(), Installation: inst("a", "running", platform.PhaseStable)}, file: broken,
			ready: envs.ReasonInvalid,
			check: func(t *testing.T, st *Status) {
				if st.Status.LastError != broken.Err.Error() || st.Status.Installation.ID != "i-1" || st.Reconciler.LastKnown != nil {
					t.Errorf("%+v", st)
				}
			}},
		{name: "suspended", prev: recordedStatus("a", "running", platform.PhaseStable, 1, envs.ReasonAvailable),
			item: Item{Name: "a", Action: ActionNone, Suspended: true, Installation: inst("a", "running", platform.PhaseStable)}, file: file,
			ready: envs.ReasonSuspended},
		{name: "backing off keeps what was recorded", prev: recordedStatus("a", "running", platform.PhaseStable, 1, envs.ReasonProvisionerError),
			item: Item{Name: "a", Action: ActionUpdate, Installation: inst("a", "running", platform.PhaseStable)}, file: file,
			out: &outcome{action: ActionUpdate, deferred: true, err: errors.New("retrying after 10:00")}, ready: envs.ReasonProvisionerError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prevKey := statusKey(c.prev)
			o := recordObservation(c.prev, c.item, c.file, c.out)
			st, notes := recordOne(o)
			if !bytes.Equal(statusKey(c.prev), prevKey) {
				t.Error("the recorded status was changed in place")
			}
			var got []TransitionKind
			for _, n := range notes {
				got = append(got, n.kind)
			}
			if !slices.Equal(got, c.notes) {
				t.Errorf("transitions %v, want %v", got, c.notes)
			}
			if r := readyReason(st); r != c.ready {
				t.Errorf("Ready reason %s, want %s", r, c.ready)
			}
			if c.check != nil {
				c.check(t, st)
			}
			// Recording the same observation again, from this result,
			// changes nothing and announces nothing: the record memo
			// relies on it.
			if c.out != nil {
				return // an outcome belongs to one pass
			}
			again, notes := recordOne(recordObservation(st, c.item, c.file, nil))
			if len(notes) != 0 || !bytes.Equal(statusKey(again), statusKey(st)) {
				t.Errorf("not idempotent: %v\n%s\n%s", notes, statusKey(st), statusKey(again))
			}
		})
	}
}

func TestRecordRemoved(t *testing.T) {
	prev := recordedStatus("gone", "running", platform.PhaseStable, 1, envs.ReasonAvailable)
	it := Item{Name: "gone", Action: ActionDelete, Installation: &platform.Installation{ID: "i-1", Name: "gone", State: "running", Phase: platform.PhaseStable}}
	for _, c := range []struct {
		name    string
		prev    *Status
		blocked bool
		out     *outcome
		ready   string // "" when the status goes
		note    bool
	}{
		{name: "deleted", prev: prev, out: &outcome{action: ActionDelete}, note: true},
		{name: "deleted, never recorded", out: &outcome{action: ActionDelete}},
		{name: "held by the guard", prev: prev, blocked: true, ready: envs.ReasonDeletionBlocked},
		{name: "failed", prev: prev, out: &outcome{action: ActionDelete, err: errors.New("boom")}, ready: envs.ReasonProvisionerError},
	} {
		t.Run(c.name, func(t *testing.T) {
			it := it
			it.Blocked = c.blocked
			var o outcome
			if c.out != nil {
				o = *c.out
			}
			st, note := recordRemoved(&Plan{Guard: "too many"}, &it, c.prev, o, c.out != nil)
			if (note != nil) != c.note || (note != nil && note.kind != TransitionDeleted) {
				t.Errorf("note %+v", note)
			}
			switch {
			case c.ready == "" && st != nil:
				t.Errorf("status kept: %+v", st)
			case c.ready != "" && (st == nil || readyReason(st) != c.ready):
				t.Errorf("status %+v, want Ready reason %s", st, c.ready)
			}
		})
	}
}

func TestRecordMemoHolds(t *testing.T) {
	file := &Desired{Name: "a", Path: "environments/a.yaml", Blob: "blob-1", Env: env("a")}
	stable := &platform.Installation{ID: "i-1", Name: "a", State: "running", Phase: platform.PhaseStable}
	prev := recordedStatus("a", "running", platform.PhaseStable, 1, envs.ReasonAvailable)
	o := recordObservation(prev, Item{Name: "a", Action: ActionNone, Installation: stable}, file, nil)
	out, _ := recordOne(o)
	out.Status.HibernateAt = &metav1.Time{Time: o.now.Add(72 * time.Hour)}
	m := newRecordMemo(o, out, nil, 24*time.Hour)
	same := recordObservation(out, Item{Name: "a", Action: ActionNone, Installation: stable}, file, nil)
	if !m.holds(same) {
		t.Fatal("the memo does not hold for the same observation")
	}
	changed := func(mut func(*observation)) observation { c := same; mut(&c); return c }
	for name, o := range map[string]observation{
		"another prior status": recordObservation(prev, Item{Name: "a", Action: ActionNone, Installation: stable}, file, nil),
		"new state":            recordObservation(out, Item{Name: "a", Installation: &platform.Installation{ID: "i-1", Name: "a", State: "patching", Phase: platform.PhaseUpdating}}, file, nil),
		"new file":             recordObservation(out, Item{Name: "a", Installation: stable}, &Desired{Name: "a", Path: file.Path, Blob: "blob-2", Env: env("a")}, nil),
		"moved file":           recordObservation(out, Item{Name: "a", Installation: stable}, &Desired{Name: "a", Path: "environments/x/a.yaml", Blob: "blob-1", Env: env("a")}, nil),
		"new activity":         changed(func(o *observation) { o.activity = o.now }),
		"an outcome":           changed(func(o *observation) { o.applied = true }),
		"notice window open":   changed(func(o *observation) { o.now = o.now.Add(48 * time.Hour) }),
		"an update":            recordObservation(out, Item{Name: "a", Action: ActionUpdate, Installation: stable}, file, nil),
		"duplicate name":       recordObservation(out, Item{Name: "a", Installation: stable}, &Desired{Name: "a", Path: file.Path, Blob: "blob-1", Err: errors.New("name used twice")}, nil),
		"usage holds it now":   changed(func(o *observation) { o.usageHold = "its installation has 150 active users, more than 100" }),
	} {
		if m.holds(o) {
			t.Errorf("%s: the memo holds", name)
		}
	}
	if m := newRecordMemo(same, out, &Housekeeping{Name: "a"}, time.Hour); m.holds(same) {
		t.Error("a memo with housekeeping due holds")
	}
}
