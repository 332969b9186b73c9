package reconciler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

func conditionOf(st *Status, typ string) (status, reason, msg string) {
	c := conditions.Get(st.setter(), typ)
	if c == nil {
		return "", "", ""
	}
	return string(c.Status), c.Reason, c.Message
}

func TestDeletionLockFollowsSpecAndHoldsDeletion(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	locked := env("locked", func(e *envs.Environment) { e.Spec.Lifecycle.DeletionLocked = true })
	h.put(locked)
	h.pass(r)
	h.settle()
	h.pass(r)
	insts := h.owned()
	if len(insts) != 1 || !insts[0].DeletionLocked {
		t.Fatalf("installations = %+v: want one, deletion-locked", insts)
	}
	id := insts[0].ID
	if st := h.readStatus("locked"); !st.Status.DeletionLocked {
		t.Fatalf("status does not record the lock: %+v", st.Status)
	}

	// Removing the file does not delete a locked installation, and says so
	// without failing pass after pass.
	h.remove("locked")
	before := h.mutations.Load()
	for range 2 {
		res := h.pass(r)
		if len(res.Errors) != 0 {
			t.Fatalf("errors = %v: a locked installation is reported, not retried", res.Errors)
		}
	}
	if n := h.mutations.Load() - before; n != 0 {
		t.Fatalf("%d changing requests for a locked installation: want none", n)
	}
	st := h.readStatus("locked")
	if s, reason, msg := conditionOf(st, meta.ReadyCondition); s != "False" || reason != envs.ReasonDeletionLocked || !strings.Contains(msg, id) {
		t.Fatalf("Ready = %s %s %q: want False DeletionLocked naming the installation", s, reason, msg)
	}

	// Unlocked through the spec, it can go.
	locked.Spec.Lifecycle.DeletionLocked = false
	h.put(locked)
	h.pass(r)
	if in, err := h.client.GetInstallation(h.ctx, id); err != nil || in.DeletionLocked {
		t.Fatalf("after unlocking in the spec: %+v, %v", in, err)
	}
	h.remove("locked")
	h.pass(r)
	if len(h.owned()) != 0 {
		t.Fatal("the unlocked installation was not deleted")
	}
}

func TestDeletionLockKeepsHousekeepingFromDeleting(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("kept", func(e *envs.Environment) {
		e.Spec.Lifecycle.DeletionLocked = true
		e.Spec.State = envs.StateHibernated
	}))
	h.pass(r)
	st := h.readStatus("kept")
	if st.Status.DeleteAt != nil {
		t.Fatalf("a deletion-locked environment has a deletion deadline: %v", st.Status.DeleteAt)
	}
}

func TestTestDataLoadsOnceWhenStableAndRetriesFailures(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, func(o *provisionersim.Options) {
		o.Exec = func(_ context.Context, _ provisioner.Installation, command string, args []string) ([]byte, error) {
			if calls.Add(1) == 1 {
				return []byte("Error: context deadline exceeded"), errors.New("exit 1")
			}
			return []byte("Sample data generated"), nil
		}
	})
	r := h.reconciler()
	h.put(env("data", func(e *envs.Environment) { e.Spec.Installation.TestData = true }), env("plain"))
	h.pass(r)
	h.pass(r) // observes the installation being created
	if calls.Load() != 0 {
		t.Fatal("test data loaded before the installation was stable")
	}
	if s, reason, _ := conditionOf(h.readStatus("data"), envs.TestDataCondition); s != "False" || reason != envs.ReasonTestDataLoading {
		t.Fatalf("TestData before stable = %s %s", s, reason)
	}
	h.settle()
	h.pass(r) // stable: the first load starts, and fails
	r.waitTestData()
	h.pass(r) // records the failure
	st := h.readStatus("data")
	if s, reason, msg := conditionOf(st, envs.TestDataCondition); s != "False" || reason != envs.ReasonTestDataFailed || !strings.Contains(msg, "context deadline exceeded") {
		t.Fatalf("TestData after a failure = %s %s %q: want False LoadFailed with the output", s, reason, msg)
	}
	if st.Status.TestData == nil || st.Status.TestData.Attempts != 1 || st.Status.TestData.LoadedAt != nil {
		t.Fatalf("status.testData = %+v", st.Status.TestData)
	}
	h.clock.Advance(1) // past the backoff
	h.pass(r)          // retries
	r.waitTestData()
	h.pass(r)
	st = h.readStatus("data")
	if st.Status.TestData.LoadedAt == nil || st.Status.TestData.LastError != "" {
		t.Fatalf("status.testData after the retry = %+v", st.Status.TestData)
	}
	if s, reason, _ := conditionOf(st, envs.TestDataCondition); s != "True" || reason != envs.ReasonTestDataLoaded {
		t.Fatalf("TestData after loading = %s %s", s, reason)
	}
	h.clock.Advance(1)
	h.pass(r)
	r.waitTestData()
	h.pass(r)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d loads: want one failed and one that worked, and no more", n)
	}
	id := st.Status.Installation.ID
	want := []string{"mmctl", "sampledata", "--local"}
	if log := h.sim.ExecLog(id); len(log) != 2 || !slices.Equal(log[1], want) {
		t.Fatalf("exec log = %v: want %v twice", log, want)
	}
	if st := h.readStatus("plain"); st.Status.TestData != nil || conditions.Get(st.setter(), envs.TestDataCondition) != nil {
		t.Fatalf("an environment without testData has test data status: %+v", st.Status)
	}
}
