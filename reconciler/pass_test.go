package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

func readyReasonOf(st *Status) string {
	if st == nil {
		return "<no status>"
	}
	return conditions.GetReason(st.setter(), meta.ReadyCondition)
}

func TestPassLifecycle(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()

	h.put(env("alpha"))
	res := h.pass(r)
	if got := res.Plan.Items[0].Action; got != ActionCreate {
		t.Fatalf("first pass: %s, want create", got)
	}
	owned := h.owned()
	if len(owned) != 1 || owned[0].Name != "alpha" || owned[0].MattermostEnv[IdentityEnvVar].Value != "alpha" {
		t.Fatalf("owned after create: %+v", owned)
	}
	st := h.readStatus("alpha")
	if st == nil || st.Status.Installation == nil || st.Status.Installation.ID != owned[0].ID {
		t.Fatalf("status after create: %+v", st)
	}
	if readyReasonOf(st) != envs.ReasonProvisioning {
		t.Errorf("ready reason %s, want Provisioning", readyReasonOf(st))
	}

	h.settle()
	h.pass(r)
	if k := kinds(h.notes.take()); k["alpha"] != TransitionReady {
		t.Errorf("transitions %v, want alpha ready", k)
	}
	st, err := h.storeRep.StatusOf(h.ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if readyReasonOf(st) != envs.ReasonAvailable || st.Status.Installation.State != provisioner.StateStable || st.Status.Installation.URL == "" {
		t.Errorf("status once stable: %+v", st.Status)
	}

	// Nothing to do: no mutation, no status commit.
	head, muts := h.statusHead(), h.mutations.Load()
	res = h.pass(r)
	if res.StatusWritten || h.statusHead() != head || h.mutations.Load() != muts || res.Plan.Changes() != 0 {
		t.Errorf("idle pass changed something: written=%v mutations=%d changes=%d", res.StatusWritten, h.mutations.Load()-muts, res.Plan.Changes())
	}

	// Update.
	h.put(env("alpha", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	res = h.pass(r)
	if res.Plan.Items[0].Action != ActionUpdate {
		t.Fatalf("after version change: %+v", res.Plan.Items[0])
	}
	h.settle()
	h.pass(r)
	if k := kinds(h.notes.take()); k["alpha"] != TransitionUpdated {
		t.Errorf("transitions %v, want alpha updated", k)
	}
	if v := h.owned()[0].Version; v != "10.6.0" {
		t.Errorf("version %s after update", v)
	}

	// Hibernate, then wake up.
	h.put(env("alpha", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0"; e.Spec.State = envs.StateHibernated }))
	if a := h.pass(r).Plan.Items[0].Action; a != ActionHibernate {
		t.Fatalf("after state hibernated: %s", a)
	}
	h.settle()
	h.pass(r)
	if k := kinds(h.notes.take()); k["alpha"] != TransitionHibernated {
		t.Errorf("transitions %v, want alpha hibernated", k)
	}
	if st := h.readStatus("alpha"); readyReasonOf(st) != envs.ReasonHibernated || st.Status.HibernatedAt == nil {
		t.Errorf("hibernated status: %+v", st.Status)
	}
	h.put(env("alpha", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	if a := h.pass(r).Plan.Items[0].Action; a != ActionWakeUp {
		t.Fatalf("after state running: %s", a)
	}
	h.settle()
	h.pass(r)
	if k := kinds(h.notes.take()); k["alpha"] != TransitionWokeUp {
		t.Errorf("transitions %v, want alpha woke up", k)
	}

	// Delete.
	h.remove("alpha")
	res = h.pass(r)
	if res.Plan.Items[0].Action != ActionDelete || res.Plan.Items[0].Blocked {
		t.Fatalf("after removal: %+v", res.Plan.Items[0])
	}
	if k := kinds(h.notes.take()); k["alpha"] != TransitionDeleted {
		t.Errorf("transitions %v, want alpha deleted", k)
	}
	if len(h.owned()) != 0 {
		t.Errorf("installation still live after delete")
	}
	if h.readStatus("alpha") != nil {
		t.Errorf("status file kept after delete")
	}
}

func TestStatusOneCommitPerPass(t *testing.T) {
	h := newHarness(t)
	counting := &countingRepo{Repository: h.storeRep}
	r, err := New(counting, h.platform, h.config())
	if err != nil {
		t.Fatal(err)
	}
	h.put(env("a"), env("b"), env("c"))
	mainHead, _ := h.repo.Head("")
	before := h.statusHead()
	h.pass(r)
	after := h.statusHead()
	if counting.writes != 1 || before == after {
		t.Fatalf("%d status commits for one pass, want 1", counting.writes)
	}
	changed, err := h.repo.Changed(h.ctx, before, after)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 3 {
		t.Errorf("status commit changed %v, want 3 files", changed)
	}
	if head, _ := h.repo.Head(""); head != mainHead {
		t.Error("writing status moved the branch people edit")
	}
	res := h.pass(r)
	if res.StatusWritten || counting.writes != 1 || h.statusHead() != after {
		t.Error("a pass that changed nothing wrote status")
	}
	// One environment changes: one file rewritten.
	h.put(env("b", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	h.settle()
	h.pass(r)
	h.pass(r)
	if counting.writes < 2 {
		t.Fatal("no status commit after a change")
	}
}

// countingRepo counts status commits.
type countingRepo struct {
	Repository
	writes int
}

func (c *countingRepo) WriteStatus(ctx context.Context, msg string, put map[string][]byte, del []string) error {
	c.writes++
	return c.Repository.WriteStatus(ctx, msg, put, del)
}

func TestAdoptAfterLostCreateAnswer(t *testing.T) {
	h := newHarness(t)
	// The first create reaches the provisioner but its answer is lost, as
	// when envwick crashes right after sending it.
	lossy := &lossyPlatform{Platform: h.platform}
	r, err := New(h.storeRep, lossy, h.config())
	if err != nil {
		t.Fatal(err)
	}
	h.put(env("beta"))
	res := h.pass(r)
	if res.Errors["beta"] == nil {
		t.Fatal("expected the lost answer to be reported")
	}
	if st := h.readStatus("beta"); st == nil || st.Reconciler.CreatePendingSince == nil {
		t.Fatalf("create pending not recorded: %+v", st)
	}
	// A new reconciler (a restart) adopts what was made.
	r2 := h.reconciler()
	res = h.pass(r2)
	if res.Plan.Items[0].Action != ActionAdopt {
		t.Errorf("after restart: %+v", res.Plan.Items[0])
	}
	if n := len(h.owned()); n != 1 {
		t.Fatalf("%d installations, want 1", n)
	}
	st := h.readStatus("beta")
	if st.Status.Installation == nil || st.Status.Installation.ID != h.owned()[0].ID || st.Reconciler.CreatePendingSince != nil {
		t.Errorf("status after adoption: %+v", st)
	}
}

// lossyPlatform makes creates that succeed but report a failure.
type lossyPlatform struct {
	platform.Platform
}

func (l *lossyPlatform) CreateInstallation(ctx context.Context, r platform.InstallationRequest) (*platform.Installation, error) {
	if _, err := l.Platform.CreateInstallation(ctx, r); err != nil {
		return nil, err
	}
	return nil, errors.New("connection reset")
}

func TestRecreateRecentlyDeletedName(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("gamma"))
	h.pass(r)
	h.settle()
	h.pass(r)
	h.remove("gamma")
	h.pass(r)
	h.settle()
	h.pass(r)
	// The provisioner still reserves "gamma".
	h.put(env("gamma"))
	res := h.pass(r)
	if len(res.Errors) != 0 {
		t.Fatalf("recreate failed: %v", res.Errors)
	}
	owned := h.owned()
	if len(owned) != 1 || owned[0].Name != "gamma-2" {
		t.Fatalf("owned after recreate: %v", names(owned))
	}
	if st := h.readStatus("gamma"); st.Reconciler.Generation != 2 || st.Status.Installation.Name != "gamma-2" {
		t.Errorf("status after recreate: %+v", st)
	}
}

func TestBrokenFileStallsAndLeavesInstallation(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("delta"), env("other"))
	h.pass(r)
	h.settle()
	h.pass(r)
	id := h.owned()[0].ID
	h.commit("Break delta", map[string][]byte{envs.PathFor("delta"): []byte("apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: delta\nspec:\n  bogus: 1\n")}, nil)
	muts := h.mutations.Load()
	res := h.pass(r)
	if h.mutations.Load() != muts {
		t.Errorf("a broken file caused %d provisioner changes", h.mutations.Load()-muts)
	}
	if len(h.owned()) != 2 {
		t.Fatalf("installations: %v", names(h.owned()))
	}
	st := h.readStatus("delta")
	if !conditions.IsStalled(st.setter()) || conditions.GetReason(st.setter(), meta.StalledCondition) != envs.ReasonInvalid {
		t.Errorf("delta conditions: %+v", st.Status.Conditions)
	}
	if !strings.Contains(st.Status.LastError, "bogus") || st.Status.Installation.ID == "" {
		t.Errorf("delta status: %+v", st.Status)
	}
	_ = id
	_ = res
}

func TestMassDeletionGuard(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	var all []*envs.Environment
	for _, n := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		all = append(all, env(n))
	}
	h.put(all...)
	h.pass(r)
	h.settle()
	h.pass(r)
	h.remove("e1", "e2", "e3", "e4", "e5")
	muts := h.mutations.Load()
	res := h.pass(r)
	if res.Plan.Guard == "" || h.mutations.Load() != muts || len(h.owned()) != 6 {
		t.Fatalf("guard did not hold: guard=%q mutations=%d owned=%d", res.Plan.Guard, h.mutations.Load()-muts, len(h.owned()))
	}
	if st := h.readStatus("e1"); readyReasonOf(st) != envs.ReasonDeletionBlocked {
		t.Errorf("e1 status: %+v", st)
	}
	// Passes keep holding.
	h.pass(r)
	if len(h.owned()) != 6 {
		t.Fatal("deleted without override")
	}
	// The operator allows it through git.
	h.commit("Allow the cleanup\n\nRemoving five stale environments at once.", map[string][]byte{AllowDeletionsPath: []byte("5\n")}, nil)
	res = h.pass(r)
	if res.Plan.Guard != "" || len(h.owned()) != 1 {
		t.Fatalf("override not honoured: guard=%q owned=%v", res.Plan.Guard, names(h.owned()))
	}
}

func TestSuspendAndDryRun(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("s1", func(e *envs.Environment) { e.Spec.Suspend = true }), env("s2"))
	head := h.statusHead()
	muts := h.mutations.Load()
	res := h.pass(r, PassOptions{DryRun: true})
	if h.mutations.Load() != muts || h.statusHead() != head || res.StatusWritten {
		t.Fatalf("dry run changed something: mutations=%d", h.mutations.Load()-muts)
	}
	got := map[string]Action{}
	for _, it := range res.Plan.Items {
		got[it.Name] = it.Action
	}
	if got["s1"] != ActionNone || got["s2"] != ActionCreate {
		t.Errorf("plan %v", got)
	}
	h.pass(r)
	owned := h.owned()
	if len(owned) != 1 || owned[0].Name != "s2" {
		t.Errorf("owned %v, want s2 only", names(owned))
	}
	if st := h.readStatus("s1"); readyReasonOf(st) != envs.ReasonSuspended {
		t.Errorf("s1 status %+v", st)
	}
}

func names(list []*provisioner.Installation) []string {
	var out []string
	for _, in := range list {
		out = append(out, in.Name+"("+in.State+")")
	}
	return out
}

func TestIncrementalPassAfterCommit(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	var all []*envs.Environment
	for i := range 30 {
		all = append(all, env(fmt.Sprintf("i-%02d", i)))
	}
	h.put(all...)
	h.pass(r)
	h.settle()
	h.pass(r)

	// One file changes: only that environment is observed and planned.
	h.put(env("i-07", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	reqs := h.requests.Load()
	res := h.pass(r, PassOptions{Incremental: true})
	if !res.Incremental || len(res.Plan.Items) != 1 || res.Plan.Items[0].Action != ActionUpdate {
		t.Fatalf("incremental pass: incremental=%v items=%+v", res.Incremental, res.Plan.Items)
	}
	if n := h.requests.Load() - reqs; n > 4 {
		t.Errorf("%d requests for one changed environment", n)
	}
	if st := h.readStatus("i-03"); st == nil || readyReasonOf(st) != envs.ReasonAvailable {
		t.Errorf("an environment outside the scope lost its status: %+v", st)
	}
	// A new environment is created; a removed one deleted (one of 31 is
	// within the guard).
	h.put(env("i-new"))
	if res := h.pass(r, PassOptions{Incremental: true}); !res.Incremental || res.Plan.Items[0].Action != ActionCreate {
		t.Fatalf("new environment: %+v", res.Plan.Items)
	}
	h.remove("i-09")
	if res := h.pass(r, PassOptions{Incremental: true}); !res.Incremental || res.Plan.Items[0].Action != ActionDelete || res.Plan.Items[0].Blocked {
		t.Fatalf("removed environment: %+v", res.Plan.Items)
	}
	// Anything but environment files makes a full pass.
	h.commit("Allow deletions", map[string][]byte{AllowDeletionsPath: []byte("3\n")}, nil)
	if res := h.pass(r, PassOptions{Incremental: true}); res.Incremental {
		t.Error("a change to the override file was handled incrementally")
	}
	if got := len(h.owned()); got != 30 {
		t.Errorf("%d installations, want 30", got)
	}
	all2, err := h.storeRep.ReadStatus(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all2) != 30 {
		t.Errorf("%d status files, want 30", len(all2))
	}
}
