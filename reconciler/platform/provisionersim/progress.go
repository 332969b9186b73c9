package provisionersim

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// dueHeap orders queued installations by when their next step is due.
type dueHeap []*inst

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *dueHeap) Push(x any) {
	in := x.(*inst)
	in.hidx = len(*h)
	*h = append(*h, in)
}
func (h *dueHeap) Pop() any {
	old := *h
	in := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	in.hidx = -1
	return in
}

// step is the automatic move out of a state: to next after d.
type step struct {
	next string
	d    time.Duration
}

// progression is the supervisor's work in the simulator: each
// transitional state moves on to next after its share (1/parts) of its
// phase's duration.
var progression = map[string]struct {
	next  string
	phase func(Timing) time.Duration
	parts time.Duration
}{
	provisioner.StateCreationRequested:             {provisioner.StateCreationPreProvisioning, creation, 4},
	provisioner.StateCreationNoCompatibleClusters:  {provisioner.StateCreationPreProvisioning, creation, 4},
	provisioner.StateCreationPreProvisioning:       {provisioner.StateCreationInProgress, creation, 4},
	provisioner.StateCreationDNS:                   {provisioner.StateCreationInProgress, creation, 4},
	provisioner.StateCreationInProgress:            {provisioner.StateCreationFinalTasks, creation, 4},
	provisioner.StateCreationFinalTasks:            {provisioner.StateStable, creation, 4},
	provisioner.StateUpdateRequested:               {provisioner.StateUpdateInProgress, update, 2},
	provisioner.StateUpdateInProgress:              {provisioner.StateStable, update, 2},
	provisioner.StateHibernationRequested:          {provisioner.StateHibernationInProgress, hibernation, 2},
	provisioner.StateHibernationInProgress:         {provisioner.StateHibernating, hibernation, 2},
	provisioner.StateDNSMigrationHibernating:       {provisioner.StateHibernating, hibernation, 2},
	provisioner.StateWakeUpRequested:               {provisioner.StateUpdateInProgress, wakeUp, 2},
	provisioner.StateDeletionCancellationRequested: {provisioner.StateUpdateInProgress, wakeUp, 2},
	provisioner.StateDeletionPendingRequested:      {provisioner.StateDeletionPendingInProgress, deletionPendingPrep, 2},
	provisioner.StateDeletionPendingInProgress:     {provisioner.StateDeletionPending, deletionPendingPrep, 2},
	provisioner.StateDeletionRequested:             {provisioner.StateDeletionInProgress, deletion, 3},
	provisioner.StateDeletionInProgress:            {provisioner.StateDeletionFinalCleanup, deletion, 3},
	provisioner.StateDeletionFinalCleanup:          {provisioner.StateDeleted, deletion, 3},
}

func creation(t Timing) time.Duration            { return t.Creation }
func update(t Timing) time.Duration              { return t.Update }
func hibernation(t Timing) time.Duration         { return t.Hibernation }
func wakeUp(t Timing) time.Duration              { return t.WakeUp }
func deletionPendingPrep(t Timing) time.Duration { return t.DeletionPendingPrep }
func deletion(t Timing) time.Duration            { return t.Deletion }

// steps is the automatic move out of a state, if it has one.
func (s *Sim) steps(state string) (step, bool) {
	p, ok := progression[state]
	if !ok {
		return step{}, false
	}
	return step{p.next, p.phase(s.timing) / p.parts}, true
}

// dueLocked is when the installation's next automatic step happens, having
// entered its state at 'from'; zero for none.
func (s *Sim) dueLocked(in *inst, from time.Time) time.Time {
	if s.opts.DisableSupervisors || in.DeleteAt != 0 {
		return time.Time{}
	}
	switch in.State {
	case provisioner.StateDeletionPending:
		if in.DeletionPendingExpiry == 0 {
			return from.Add(s.opts.DeletionPendingTime)
		}
		return provisioner.FromMillis(in.DeletionPendingExpiry)
	case provisioner.StateStable, provisioner.StateHibernating:
		if in.ScheduledDeletionTime > 0 && !in.DeletionLocked {
			return provisioner.FromMillis(in.ScheduledDeletionTime)
		}
		return time.Time{}
	}
	if st, ok := s.steps(in.State); ok {
		return from.Add(st.d)
	}
	return time.Time{}
}

// scheduleLocked (re)queues the installation's next step.
func (s *Sim) scheduleLocked(in *inst, from time.Time) {
	in.due = s.dueLocked(in, from)
	q := &s.st.queue
	switch {
	case in.due.IsZero() && in.hidx >= 0:
		heap.Remove(q, in.hidx)
	case in.due.IsZero():
	case in.hidx >= 0:
		heap.Fix(q, in.hidx)
	default:
		heap.Push(q, in)
	}
	if !in.due.IsZero() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// processLocked runs every step due by now. A step happens at its due
// time, so after Advance a chain of steps completes in one call.
func (s *Sim) processLocked() {
	now := s.nowLocked()
	q := &s.st.queue
	for q.Len() > 0 && !(*q)[0].due.After(now) {
		in := heap.Pop(q).(*inst)
		at := in.due
		in.due = time.Time{}
		s.enterLocked(in, s.nextStateLocked(in, at), at, nil)
	}
}

// nextStateLocked is where an installation goes when its step is due,
// including injected failures.
func (s *Sim) nextStateLocked(in *inst, at time.Time) string {
	switch in.State {
	case provisioner.StateDeletionPending:
		return provisioner.StateDeletionRequested
	case provisioner.StateStable, provisioner.StateHibernating:
		// A scheduled deletion came due.
		in.ScheduledDeletionTime = 0
		in.DeletionPendingExpiry = provisioner.Millis(at.Add(s.opts.DeletionPendingTime))
		return provisioner.StateDeletionPendingRequested
	case provisioner.StateCreationInProgress:
		if s.faults.CreationFailureRate > 0 && rand.Float64() < s.faults.CreationFailureRate {
			return provisioner.StateCreationFailed
		}
	case provisioner.StateUpdateInProgress:
		if s.faults.UpdateFailureRate > 0 && rand.Float64() < s.faults.UpdateFailureRate {
			return provisioner.StateUpdateFailed
		}
	}
	st, _ := s.steps(in.State)
	return st.next
}

// enterLocked moves an installation into state at time 'at': the
// bookkeeping of the state, a webhook when the state changed, and the
// next step.
func (s *Sim) enterLocked(in *inst, state string, at time.Time, extraData map[string]string) {
	old := in.State
	in.State = state
	switch state {
	case provisioner.StateDeleted:
		if in.DeleteAt == 0 {
			s.st.markDeleted(in, at)
		}
	case provisioner.StateCreationRequested, provisioner.StateCreationNoCompatibleClusters, provisioner.StateCreationFailed:
	default:
		if in.DeleteAt == 0 && !provisioner.IsDeletionState(state) {
			s.st.ensureClusterInstallation(in, at)
		}
	}
	s.changedLocked(in)
	if old != state {
		extra := map[string]string{"Environment": s.opts.Environment, "Name": in.Name}
		for k, v := range extraData {
			extra[k] = v
		}
		s.hooks.send(provisioner.WebhookPayload{
			EventID: newID(), Timestamp: at.UnixNano(), ID: in.ID, Type: provisioner.TypeInstallation,
			NewState: state, OldState: old, ExtraData: extra,
		})
	}
	s.scheduleLocked(in, at)
}

// loop runs due steps and writes the state to disk until Close.
func (s *Sim) loop() {
	defer s.done.Done()
	flush := time.NewTicker(s.opts.FlushInterval)
	defer flush.Stop()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for {
		s.mu.Lock()
		s.processLocked()
		wait := time.Second
		if q := s.st.queue; q.Len() > 0 {
			wait = min(max(q[0].due.Sub(s.nowLocked()), time.Millisecond), time.Second)
		}
		s.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C:
		case <-flush.C:
			if err := s.flush(); err != nil {
				s.log.Error("writing provisioner simulator state", "error", err)
			}
		}
	}
}
