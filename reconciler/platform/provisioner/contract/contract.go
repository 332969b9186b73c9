// Package contract is one set of scenarios that holds a provisioner API to
// the behaviour envwick relies on. It runs against the embedded simulator
// in `make test` and against the real Mattermost Cloud provisioner (v0.92,
// supervisors off) in `make e2e`; a behaviour in which the two differ
// fails it.
//
// The real server with its supervisors off never moves an installation on
// by itself, so every scenario moves installations with Target.Advance
// where a supervisor would (the simulator's SetState; SQL on the real
// server) and runs the simulator with its supervisors disabled too.
package contract

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// Target is the provisioner under test.
type Target struct {
	// Client talks to it.
	Client *provisioner.Client
	// Advance forces an installation into a state, as the provisioner's
	// supervisors would move it. It fails t when it cannot.
	Advance func(t *testing.T, installationID, state string)
	// Owner is the OwnerID of everything the suite creates: unique per run,
	// so listings by owner see only this run's installations.
	Owner string
	// Domain is the DNS domain of the suite's installations (default
	// contract.envwick.test).
	Domain string
	// Rules are the target's server settings (whether the operator-hosted
	// database and filestore are accepted).
	Rules provisioner.ServerRules
}

// Run runs every scenario against target.
func Run(t *testing.T, target Target) {
	if target.Client == nil || target.Advance == nil || target.Owner == "" {
		t.Fatal("contract.Target needs Client, Advance and Owner")
	}
	if target.Domain == "" {
		target.Domain = "contract.envwick.test"
	}
	s := &suite{Target: target, run: randomLabel(5)}
	for _, sc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Create", s.create},
		{"ListWithPaging", s.listWithPaging},
		{"Patch", s.patch},
		{"PatchRemovesEnvVar", s.patchRemovesEnvVar},
		{"HibernateAndWakeUp", s.hibernateAndWakeUp},
		{"Delete", s.delete},
		{"DeletionPendingAndCancel", s.deletionPendingAndCancel},
		{"RestoreThroughThePlatform", s.restoreThroughThePlatform},
		{"NameConflict", s.nameConflict},
		{"InvalidTransitions", s.invalidTransitions},
		{"BadInput", s.badInput},
		{"NotFound", s.notFound},
		{"Annotations", s.annotations},
		{"Locks", s.locks},
		{"LicenseText", s.licenseText},
		{"Exec", s.exec},
		{"StatusCounts", s.statusCounts},
		{"Webhooks", s.webhooks},
	} {
		t.Run(sc.name, sc.fn)
	}
}

type suite struct {
	Target
	run string // random label that keeps this run's names apart
}

// name is a unique installation name for this run.
func (s *suite) name(short string) string { return "ct" + s.run + "-" + short }

// request is a valid create request for name, owned by owner.
func (s *suite) request(name, owner string) provisioner.CreateInstallationRequest {
	return provisioner.CreateInstallationRequest{
		Name: name, OwnerID: owner, DNSNames: []string{name + "." + s.Domain},
		Size: "miniSingleton", Database: provisioner.DatabaseMultiTenantRDSPostgres,
		Filestore: provisioner.FilestoreBifrost, Annotations: []string{"envwick-contract"},
		MattermostEnv: provisioner.EnvFromStrings(map[string]string{"MM_LOGSETTINGS_CONSOLELEVEL": "DEBUG"}),
	}
}

// create creates an installation (in creation-requested) and deletes it
// when the test ends.
func (s *suite) create(t *testing.T) {
	ctx := t.Context()
	start := time.Now()
	name := s.name("create")
	req := s.request(name, s.Owner)
	in := s.mustCreate(t, req)

	if in.ID == "" || len(in.ID) != 26 || in.Name != name || in.OwnerID != s.Owner {
		t.Errorf("created %s %q owned by %q", in.ID, in.Name, in.OwnerID)
	}
	if in.State != provisioner.StateCreationRequested {
		t.Errorf("state %s, want %s", in.State, provisioner.StateCreationRequested)
	}
	// What the request left out gets the provisioner's defaults.
	if in.Version != provisioner.DefaultVersion || in.Image != provisioner.DefaultImage ||
		in.Affinity != provisioner.AffinityIsolated || in.CRVersion != provisioner.DefaultCRVersion {
		t.Errorf("defaults: version %q image %q affinity %q CR %q", in.Version, in.Image, in.Affinity, in.CRVersion)
	}
	if in.Size != req.Size || in.Database != req.Database || in.Filestore != req.Filestore || in.Group() != "" {
		t.Errorf("size %q database %q filestore %q group %q", in.Size, in.Database, in.Filestore, in.Group())
	}
	if got := in.MattermostEnv["MM_LOGSETTINGS_CONSOLELEVEL"].Value; got != "DEBUG" {
		t.Errorf("env %v", in.MattermostEnv)
	}
	if in.PrimaryDNS() != req.DNSNames[0] || in.DNS != req.DNSNames[0] || len(in.DNSRecords) != 1 ||
		!in.DNSRecords[0].IsPrimary || in.DeleteAt != 0 {
		t.Errorf("DNS %q records %+v", in.DNS, in.DNSRecords)
	}
	created := in.Created()
	if created.Before(start.Add(-time.Minute)) || created.After(time.Now().Add(time.Minute)) {
		t.Errorf("CreateAt %d (%v) is not a millisecond time of now", in.CreateAt, created)
	}

	got, err := s.Client.GetInstallation(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != in.ID || got.Name != name || got.State != in.State || got.CreateAt != in.CreateAt ||
		got.MattermostEnv["MM_LOGSETTINGS_CONSOLELEVEL"].Value != "DEBUG" ||
		!slices.Equal(got.AnnotationNames(), []string{"envwick-contract"}) {
		t.Errorf("get: %+v", got)
	}
	for what, get := range map[string]func() (*provisioner.Installation, error){
		"name": func() (*provisioner.Installation, error) { return s.Client.GetInstallationByName(ctx, name) },
		"DNS":  func() (*provisioner.Installation, error) { return s.Client.GetInstallationByDNS(ctx, req.DNSNames[0]) },
	} {
		if got, err := get(); err != nil || got.ID != in.ID {
			t.Errorf("get by %s: %v, %v", what, got, err)
		}
	}
}

func (s *suite) mustCreate(t *testing.T, req provisioner.CreateInstallationRequest) *provisioner.Installation {
	t.Helper()
	in, err := s.Client.CreateInstallation(t.Context(), req)
	if err != nil {
		t.Fatalf("creating %s: %v", req.Name, err)
	}
	t.Cleanup(func() {
		// Best effort: whatever state the test left it in.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Client.SetInstallationLock(ctx, in.ID, provisioner.UnlockAPI)
		s.Client.SetInstallationLock(ctx, in.ID, provisioner.UnlockDeletion)
		s.Client.DeleteInstallation(ctx, in.ID)
	})
	return in
}

// stable creates an installation and advances it to stable.
func (s *suite) stable(t *testing.T, short string) *provisioner.Installation {
	t.Helper()
	in := s.mustCreate(t, s.request(s.name(short), s.Owner))
	s.Advance(t, in.ID, provisioner.StateStable)
	return s.expectState(t, in.ID, provisioner.StateStable)
}

func (s *suite) expectState(t *testing.T, id, want string) *provisioner.Installation {
	t.Helper()
	in, err := s.Client.GetInstallation(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if in.State != want {
		t.Fatalf("installation %s is %s, want %s", id, in.State, want)
	}
	return in
}

func expectErr(t *testing.T, err error, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: want %v, got %v", what, kind, err)
	}
}

func (s *suite) listWithPaging(t *testing.T) {
	ctx := t.Context()
	owner := s.Owner + "-paging"
	const n, perPage = 7, 3
	var ids []string
	for i := range n {
		ids = append(ids, s.mustCreate(t, s.request(s.name(fmt.Sprintf("page%d", i)), owner)).ID)
	}
	var paged []*provisioner.Installation
	for page := 0; ; page++ {
		list, err := s.Client.ListInstallations(ctx, provisioner.ListOptions{OwnerID: owner, Page: page, PerPage: perPage})
		if err != nil {
			t.Fatal(err)
		}
		if want := min(perPage, n-page*perPage); len(list) != max(want, 0) {
			t.Fatalf("page %d has %d installations, want %d", page, len(list), want)
		}
		paged = append(paged, list...)
		if len(list) < perPage {
			break
		}
	}
	// Each once, oldest first (installations created in the same
	// millisecond may come in either order).
	if got := idsOf(paged); !sameSet(got, ids) {
		t.Errorf("paged %v, want %v", got, ids)
	}
	if !slices.IsSortedFunc(paged, func(a, b *provisioner.Installation) int { return int(a.CreateAt - b.CreateAt) }) {
		t.Errorf("pages are not oldest first: %v", paged)
	}
	all, err := s.Client.ListAllInstallations(ctx, provisioner.ListOptions{OwnerID: owner, PerPage: perPage})
	if err != nil || len(all) != n {
		t.Fatalf("list all: %d, %v", len(all), err)
	}
	everything, err := s.Client.ListInstallations(ctx, provisioner.ListOptions{OwnerID: owner, PerPage: -1})
	if err != nil || len(everything) != n {
		t.Errorf("per_page -1: %d, %v", len(everything), err)
	}

	s.Advance(t, ids[1], provisioner.StateStable)
	s.Advance(t, ids[4], provisioner.StateStable)
	stable, err := s.Client.ListAllInstallations(ctx, provisioner.ListOptions{OwnerID: owner, State: provisioner.StateStable})
	if err != nil || !sameSet(idsOf(stable), []string{ids[1], ids[4]}) {
		t.Errorf("state filter: %v, %v", stable, err)
	}
	byName, err := s.Client.ListInstallations(ctx, provisioner.ListOptions{Name: s.name("page3")})
	if err != nil || len(byName) != 1 || byName[0].ID != ids[3] {
		t.Errorf("name filter: %v, %v", byName, err)
	}

	// Deleted installations are listed only when asked for.
	s.Advance(t, ids[0], provisioner.StateDeleted)
	live, err := s.Client.ListAllInstallations(ctx, provisioner.ListOptions{OwnerID: owner})
	if err != nil || !sameSet(idsOf(live), ids[1:]) {
		t.Errorf("without deleted: %d, %v", len(live), err)
	}
	withDeleted, err := s.Client.ListAllInstallations(ctx, provisioner.ListOptions{OwnerID: owner, IncludeDeleted: true})
	if err != nil || !sameSet(idsOf(withDeleted), ids) {
		t.Errorf("with deleted: %d, %v", len(withDeleted), err)
	}
	for _, in := range withDeleted {
		if (in.ID == ids[0]) != (in.DeleteAt != 0) {
			t.Errorf("installation %s has DeleteAt %d", in.ID, in.DeleteAt)
		}
	}
}

func (s *suite) patch(t *testing.T) {
	ctx := t.Context()
	in := s.stable(t, "patch")
	version := "10.5.1"
	got, err := s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{
		Version:       &version,
		MattermostEnv: provisioner.EnvFromStrings(map[string]string{"MM_FEATUREFLAGS_X": "on"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != provisioner.StateUpdateRequested || got.Version != version ||
		got.MattermostEnv["MM_FEATUREFLAGS_X"].Value != "on" || got.MattermostEnv["MM_LOGSETTINGS_CONSOLELEVEL"].Value != "DEBUG" {
		t.Errorf("after patch: state %s version %s env %v", got.State, got.Version, got.MattermostEnv)
	}
	// A variable without a value is removed; the rest stay.
	got, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{
		MattermostEnv: provisioner.EnvVarMap{"MM_FEATUREFLAGS_X": {}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.MattermostEnv["MM_FEATUREFLAGS_X"]; ok || got.MattermostEnv["MM_LOGSETTINGS_CONSOLELEVEL"].Value != "DEBUG" {
		t.Errorf("removing a variable: %v", got.MattermostEnv)
	}
	// An empty map clears them all.
	got, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{MattermostEnv: provisioner.EnvVarMap{}})
	if err != nil || len(got.MattermostEnv) != 0 {
		t.Errorf("clearing env: %v, %v", got.MattermostEnv, err)
	}
	s.expectState(t, in.ID, provisioner.StateUpdateRequested)

	// A patch that changes nothing leaves a stable installation stable.
	s.Advance(t, in.ID, provisioner.StateStable)
	got, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Version: &version})
	if err != nil || got.State != provisioner.StateStable {
		t.Errorf("no-op patch: %v, %v", got, err)
	}
	persisted := s.expectState(t, in.ID, provisioner.StateStable)
	if persisted.Version != version {
		t.Errorf("version %s after re-read", persisted.Version)
	}

	_, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Size: ptr("galactic")})
	expectErr(t, err, provisioner.ErrBadRequest, "patch with an unknown size")
	if errors.Is(err, provisioner.ErrInvalidTransition) {
		t.Errorf("a bad patch is not an invalid transition: %v", err)
	}
	s.Advance(t, in.ID, provisioner.StateUpdateFailed)
	if _, err := s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Size: ptr("miniHA")}); err != nil {
		t.Errorf("patching after update-failed: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// patchRemovesEnvVar holds the server to the env var semantics the
// reconciler depends on: a patch merges variables into the installation's
// (it never replaces the set), so the reconciler sends every wanted variable
// plus an entry without a value for each one to remove, and the
// installation ends with exactly the wanted set.
func (s *suite) patchRemovesEnvVar(t *testing.T) {
	ctx := t.Context()
	in := s.stable(t, "envrm")
	got, err := s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{
		MattermostEnv: provisioner.EnvFromStrings(map[string]string{"MM_A": "1", "MM_B": "2"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	merged := map[string]string{"MM_LOGSETTINGS_CONSOLELEVEL": "DEBUG", "MM_A": "1", "MM_B": "2"}
	if !maps.Equal(got.MattermostEnv.Strings(), merged) {
		t.Errorf("a patch merges: env %v, want %v", got.MattermostEnv.Strings(), merged)
	}
	s.Advance(t, in.ID, provisioner.StateStable)

	// The reconciler's patch: the wanted set, MM_A without a value.
	want := map[string]string{"MM_LOGSETTINGS_CONSOLELEVEL": "DEBUG", "MM_B": "3"}
	patch := provisioner.EnvFromStrings(want)
	patch["MM_A"] = provisioner.EnvVar{}
	got, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{MattermostEnv: patch})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != provisioner.StateUpdateRequested || !maps.Equal(got.MattermostEnv.Strings(), want) {
		t.Errorf("after removing MM_A: state %s env %v, want %v", got.State, got.MattermostEnv.Strings(), want)
	}
	if _, ok := got.MattermostEnv["MM_A"]; ok {
		t.Errorf("MM_A is still listed: %v", got.MattermostEnv)
	}
	persisted := s.expectState(t, in.ID, provisioner.StateUpdateRequested)
	if !maps.Equal(persisted.MattermostEnv.Strings(), want) {
		t.Errorf("re-read env %v, want %v", persisted.MattermostEnv.Strings(), want)
	}

	// Removing a variable that is not there, with the rest unchanged, is no
	// change at all: a stable installation stays stable.
	s.Advance(t, in.ID, provisioner.StateStable)
	got, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{MattermostEnv: patch})
	if err != nil || got.State != provisioner.StateStable || !maps.Equal(got.MattermostEnv.Strings(), want) {
		t.Errorf("repeated removal: %+v, %v", got, err)
	}

	// An installation created without variables takes the patch as it is:
	// the entry without a value is kept, listed without a value (a client
	// must not take a listed name for a set variable).
	req := s.request(s.name("envrm-bare"), s.Owner)
	req.MattermostEnv = nil
	bare := s.mustCreate(t, req)
	s.Advance(t, bare.ID, provisioner.StateStable)
	got, err = s.Client.UpdateInstallation(ctx, bare.ID, provisioner.PatchInstallationRequest{
		MattermostEnv: provisioner.EnvVarMap{"MM_A": {}, "MM_B": {Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, listed := got.MattermostEnv["MM_A"]; !listed || a.HasValue() || !maps.Equal(got.MattermostEnv.Strings(), map[string]string{"MM_B": "1"}) {
		t.Errorf("removal from a bare installation: env %v", got.MattermostEnv)
	}
	persisted, err = s.Client.GetInstallation(ctx, bare.ID)
	if err != nil || !maps.Equal(persisted.MattermostEnv.Strings(), map[string]string{"MM_B": "1"}) {
		t.Errorf("re-read bare installation: %+v, %v", persisted, err)
	}
}

func (s *suite) hibernateAndWakeUp(t *testing.T) {
	ctx := t.Context()
	in := s.stable(t, "hibernate")
	got, err := s.Client.HibernateInstallation(ctx, in.ID)
	if err != nil || got.State != provisioner.StateHibernationRequested {
		t.Fatalf("hibernate: %v, %v", got, err)
	}
	_, err = s.Client.HibernateInstallation(ctx, in.ID)
	expectErr(t, err, provisioner.ErrInvalidTransition, "hibernating twice")

	s.Advance(t, in.ID, provisioner.StateHibernating)
	_, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Version: ptr("10.6.0")})
	expectErr(t, err, provisioner.ErrInvalidTransition, "patching a hibernating installation")

	got, err = s.Client.WakeUpInstallation(ctx, in.ID, &provisioner.PatchInstallationRequest{Version: ptr("10.6.0")})
	if err != nil || got.State != provisioner.StateWakeUpRequested || got.Version != "10.6.0" {
		t.Fatalf("wake up with a patch: %v, %v", got, err)
	}
	_, err = s.Client.WakeUpInstallation(ctx, in.ID, nil)
	expectErr(t, err, provisioner.ErrInvalidTransition, "waking up twice")
	s.Advance(t, in.ID, provisioner.StateStable)
	if got := s.expectState(t, in.ID, provisioner.StateStable); got.Version != "10.6.0" {
		t.Errorf("version after wake-up %s", got.Version)
	}
}

func (s *suite) delete(t *testing.T) {
	ctx := t.Context()
	// What never finished creating is deleted at once...
	early := s.mustCreate(t, s.request(s.name("delete-early"), s.Owner))
	if err := s.Client.DeleteInstallation(ctx, early.ID); err != nil {
		t.Fatal(err)
	}
	s.expectState(t, early.ID, provisioner.StateDeletionRequested)
	if err := s.Client.DeleteInstallation(ctx, early.ID); err != nil {
		t.Errorf("deleting again while deletion-requested: %v", err)
	}

	// ...a stable one waits in deletion-pending first.
	in := s.stable(t, "delete")
	before := time.Now()
	if err := s.Client.DeleteInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	got := s.expectState(t, in.ID, provisioner.StateDeletionPendingRequested)
	if expiry := provisioner.FromMillis(got.DeletionPendingExpiry); !expiry.After(before) {
		t.Errorf("DeletionPendingExpiry %v is not after the delete (%v)", expiry, before)
	}
	_, err := s.Client.HibernateInstallation(ctx, in.ID)
	expectErr(t, err, provisioner.ErrInvalidTransition, "hibernating while deleting")

	s.Advance(t, in.ID, provisioner.StateDeleted)
	got = s.expectState(t, in.ID, provisioner.StateDeleted)
	if got.DeleteAt == 0 {
		t.Errorf("a deleted installation has DeleteAt %d", got.DeleteAt)
	}
	err = s.Client.DeleteInstallation(ctx, in.ID)
	expectErr(t, err, provisioner.ErrInvalidTransition, "deleting a deleted installation")
	_, err = s.Client.GetInstallationByName(ctx, in.Name)
	expectErr(t, err, provisioner.ErrNotFound, "finding a deleted installation by name")
}

func (s *suite) deletionPendingAndCancel(t *testing.T) {
	ctx := t.Context()
	in := s.stable(t, "pending")
	err := s.Client.CancelInstallationDeletion(ctx, in.ID)
	expectErr(t, err, provisioner.ErrInvalidTransition, "cancelling a deletion that is not pending")
	if err := s.Client.DeleteInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	s.Advance(t, in.ID, provisioner.StateDeletionPending)

	expiry := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond)
	got, err := s.Client.SetDeletionPendingExpiry(ctx, in.ID, expiry)
	if err != nil || got.DeletionPendingExpiry != provisioner.Millis(expiry) {
		t.Errorf("moving the expiry: %v, %v", got, err)
	}
	if err := s.Client.CancelInstallationDeletion(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	s.expectState(t, in.ID, provisioner.StateDeletionCancellationRequested)
	err = s.Client.CancelInstallationDeletion(ctx, in.ID)
	expectErr(t, err, provisioner.ErrInvalidTransition, "cancelling twice")
	_, err = s.Client.SetDeletionPendingExpiry(ctx, in.ID, expiry)
	expectErr(t, err, provisioner.ErrInvalidTransition, "moving the expiry once cancelled")
	s.Advance(t, in.ID, provisioner.StateStable)
	if _, err := s.Client.HibernateInstallation(ctx, in.ID); err != nil {
		t.Errorf("a rescued installation works again: %v", err)
	}
}

// restoreThroughThePlatform is what the reconciler does when a removed
// environment comes back: the provider reports the pending deletion as
// DeletionPending, refuses a cancel until the deletion is pending, then
// hands back the same installation, no longer gone.
func (s *suite) restoreThroughThePlatform(t *testing.T) {
	ctx := t.Context()
	p := &provisioner.Platform{Client: s.Client, Domain: s.Domain}
	in := s.stable(t, "restore")
	if err := p.DeleteInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	got, err := p.GetInstallation(ctx, in.ID)
	if err != nil || got.Phase != platform.PhaseDeletionPending {
		t.Fatalf("after delete: %+v, %v; want phase DeletionPending", got, err)
	}
	if _, err := p.CancelDeletion(ctx, in.ID); err == nil {
		t.Errorf("a cancel in %s was accepted", got.State)
	}
	s.Advance(t, in.ID, provisioner.StateDeletionPending)
	back, err := p.CancelDeletion(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != in.ID || back.Phase.Gone() || back.State != provisioner.StateDeletionCancellationRequested {
		t.Fatalf("restored: %s in %s (%s), want %s in deletion-cancellation-requested", back.ID, back.State, back.Phase, in.ID)
	}
	s.Advance(t, in.ID, provisioner.StateStable)
}

func (s *suite) nameConflict(t *testing.T) {
	ctx := t.Context()
	name := s.name("taken")
	in := s.mustCreate(t, s.request(name, s.Owner))
	_, err := s.Client.CreateInstallation(ctx, s.request(name, s.Owner+"-other"))
	expectErr(t, err, provisioner.ErrNameInUse, "creating a taken name")
	expectErr(t, err, provisioner.ErrConflict, "creating a taken name")

	// Upper case is folded: still the same name.
	upper := s.request(strings.ToUpper(name), s.Owner)
	upper.DNSNames = []string{strings.ToUpper(name) + "." + s.Domain}
	_, err = s.Client.CreateInstallation(ctx, upper)
	expectErr(t, err, provisioner.ErrNameInUse, "creating a taken name in upper case")

	// A name stays taken while its installation waits for deletion.
	s.Advance(t, in.ID, provisioner.StateStable)
	if err := s.Client.DeleteInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	s.Advance(t, in.ID, provisioner.StateDeletionPending)
	_, err = s.Client.CreateInstallation(ctx, s.request(name, s.Owner))
	expectErr(t, err, provisioner.ErrNameInUse, "creating a name pending deletion")

	list, err := s.Client.ListAllInstallations(ctx, provisioner.ListOptions{Name: name})
	if err != nil || len(list) != 1 || list[0].ID != in.ID {
		t.Errorf("a refused create created something: %v, %v", list, err)
	}
}

func (s *suite) invalidTransitions(t *testing.T) {
	ctx := t.Context()
	creating := s.mustCreate(t, s.request(s.name("creating"), s.Owner))
	in := s.stable(t, "transitions")
	for what, call := range map[string]func() error{
		"wake up a stable installation": func() error { _, err := s.Client.WakeUpInstallation(ctx, in.ID, nil); return err },
		"retry creating a stable one":   func() error { _, err := s.Client.RetryCreateInstallation(ctx, in.ID); return err },
		"cancel a deletion never asked": func() error { return s.Client.CancelInstallationDeletion(ctx, in.ID) },
		"patch while creating": func() error {
			_, err := s.Client.UpdateInstallation(ctx, creating.ID, provisioner.PatchInstallationRequest{Version: ptr("1.2.3")})
			return err
		},
		"hibernate while creating": func() error { _, err := s.Client.HibernateInstallation(ctx, creating.ID); return err },
		"expire a deletion never pending": func() error {
			_, err := s.Client.SetDeletionPendingExpiry(ctx, in.ID, time.Now().Add(time.Hour))
			return err
		},
	} {
		expectErr(t, call(), provisioner.ErrInvalidTransition, what)
	}
	s.expectState(t, in.ID, provisioner.StateStable)
	s.expectState(t, creating.ID, provisioner.StateCreationRequested)

	// A failed creation can be retried.
	s.Advance(t, creating.ID, provisioner.StateCreationFailed)
	got, err := s.Client.RetryCreateInstallation(ctx, creating.ID)
	if err != nil || got.State != provisioner.StateCreationRequested {
		t.Errorf("retrying a failed creation: %v, %v", got, err)
	}
}

func (s *suite) badInput(t *testing.T) {
	ctx := t.Context()
	tests := map[string]func(r *provisioner.CreateInstallationRequest){
		"unknown size":              func(r *provisioner.CreateInstallationRequest) { r.Size = "galactic" },
		"upper-case annotation":     func(r *provisioner.CreateInstallationRequest) { r.Annotations = []string{"Envwick"} },
		"too short annotation":      func(r *provisioner.CreateInstallationRequest) { r.Annotations = []string{"ab"} },
		"unsupported database":      func(r *provisioner.CreateInstallationRequest) { r.Database = "sqlite" },
		"unsupported filestore":     func(r *provisioner.CreateInstallationRequest) { r.Filestore = "floppy" },
		"unsupported affinity":      func(r *provisioner.CreateInstallationRequest) { r.Affinity = "anywhere" },
		"no owner":                  func(r *provisioner.CreateInstallationRequest) { r.OwnerID = "" },
		"no DNS name":               func(r *provisioner.CreateInstallationRequest) { r.DNSNames = nil },
		"DNS not matching the name": func(r *provisioner.CreateInstallationRequest) { r.DNSNames = []string{"elsewhere." + s.Domain} },
		"env var without value":     func(r *provisioner.CreateInstallationRequest) { r.MattermostEnv = provisioner.EnvVarMap{"MM_X": {}} },
		"space in version":          func(r *provisioner.CreateInstallationRequest) { r.Version = "10 5" },
		"external without secret":   func(r *provisioner.CreateInstallationRequest) { r.Database = provisioner.DatabaseExternal },
		"negative deletion time":    func(r *provisioner.CreateInstallationRequest) { r.ScheduledDeletionTime = -1 },
	}
	if !s.Rules.DeployMinioOperator {
		tests["minio-operator filestore"] = func(r *provisioner.CreateInstallationRequest) { r.Filestore = provisioner.FilestoreMinioOperator }
	}
	if !s.Rules.DeployMySQLOperator {
		tests["mysql-operator database"] = func(r *provisioner.CreateInstallationRequest) { r.Database = provisioner.DatabaseMySQLOperator }
	}
	name := s.name("bad")
	for what, mod := range tests {
		req := s.request(name, s.Owner)
		mod(&req)
		_, err := s.Client.CreateInstallation(ctx, req)
		expectErr(t, err, provisioner.ErrBadRequest, what)
	}
	list, err := s.Client.ListInstallations(ctx, provisioner.ListOptions{Name: name, IncludeDeleted: true})
	if err != nil || len(list) != 0 {
		t.Errorf("bad requests created %d installations (%v)", len(list), err)
	}

	// The operator-hosted defaults are accepted exactly when deployed.
	for what, tt := range map[string]struct {
		mod     func(r *provisioner.CreateInstallationRequest)
		allowed bool
	}{
		"minio-operator": {func(r *provisioner.CreateInstallationRequest) { r.Filestore = "" }, s.Rules.DeployMinioOperator},
		"mysql-operator": {func(r *provisioner.CreateInstallationRequest) { r.Database = "" }, s.Rules.DeployMySQLOperator},
	} {
		req := s.request(s.name("op-"+what[:5]), s.Owner)
		tt.mod(&req)
		in, err := s.Client.CreateInstallation(ctx, req)
		if tt.allowed {
			if err != nil {
				t.Errorf("%s when deployed: %v", what, err)
				continue
			}
			s.Client.DeleteInstallation(ctx, in.ID)
		} else {
			expectErr(t, err, provisioner.ErrBadRequest, what+" when not deployed")
		}
	}
}

func (s *suite) notFound(t *testing.T) {
	ctx := t.Context()
	unknown := "abcdefghijklmnopqrstuvwxyz" // the right shape, no installation
	_, err := s.Client.GetInstallation(ctx, unknown)
	expectErr(t, err, provisioner.ErrNotFound, "get")
	_, err = s.Client.HibernateInstallation(ctx, unknown)
	expectErr(t, err, provisioner.ErrNotFound, "hibernate")
	expectErr(t, s.Client.DeleteInstallation(ctx, unknown), provisioner.ErrNotFound, "delete")
	_, err = s.Client.GetInstallation(ctx, "not-an-id")
	expectErr(t, err, provisioner.ErrNotFound, "get with a malformed ID")
	_, err = s.Client.GetInstallationByName(ctx, s.name("nobody"))
	expectErr(t, err, provisioner.ErrNotFound, "get by an unknown name")
	_, err = s.Client.GetWebhook(ctx, unknown)
	expectErr(t, err, provisioner.ErrNotFound, "get webhook")
}

func (s *suite) annotations(t *testing.T) {
	ctx := t.Context()
	in := s.stable(t, "annotate")
	got, err := s.Client.AddInstallationAnnotations(ctx, in.ID, "team-qa", "pr-1234")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"envwick-contract", "pr-1234", "team-qa"}
	if names := sorted(got.AnnotationNames()); !slices.Equal(names, want) {
		t.Errorf("after adding: %v, want %v", names, want)
	}
	_, err = s.Client.AddInstallationAnnotations(ctx, in.ID, "Bad Annotation")
	expectErr(t, err, provisioner.ErrBadRequest, "adding a malformed annotation")
	// The provisioner refuses an annotation the installation already has
	// (with a server error), which is why callers add only missing ones.
	_, err = s.Client.AddInstallationAnnotations(ctx, in.ID, "team-qa")
	expectErr(t, err, provisioner.ErrServer, "adding an annotation twice")

	for range 2 { // removing is idempotent
		if err := s.Client.DeleteInstallationAnnotation(ctx, in.ID, "team-qa"); err != nil {
			t.Fatal(err)
		}
	}
	got = s.expectState(t, in.ID, provisioner.StateStable)
	if names := sorted(got.AnnotationNames()); !slices.Equal(names, []string{"envwick-contract", "pr-1234"}) {
		t.Errorf("after removing: %v", names)
	}
}

func idsOf(list []*provisioner.Installation) []string {
	ids := make([]string, 0, len(list))
	for _, in := range list {
		ids = append(ids, in.ID)
	}
	return ids
}

func sameSet(a, b []string) bool { return slices.Equal(sorted(a), sorted(b)) }

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func (s *suite) locks(t *testing.T) {
	ctx := t.Context()
	in := s.stable(t, "locks")
	if err := s.Client.SetInstallationLock(ctx, in.ID, provisioner.LockAPI); err != nil {
		t.Fatal(err)
	}
	if got := s.expectState(t, in.ID, provisioner.StateStable); !got.APISecurityLock {
		t.Error("APISecurityLock not set")
	}
	_, err := s.Client.HibernateInstallation(ctx, in.ID)
	expectErr(t, err, provisioner.ErrForbidden, "hibernating an API-locked installation")
	_, err = s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Version: ptr("1.0.0")})
	expectErr(t, err, provisioner.ErrForbidden, "patching an API-locked installation")
	expectErr(t, s.Client.DeleteInstallation(ctx, in.ID), provisioner.ErrForbidden, "deleting an API-locked installation")
	if err := s.Client.SetInstallationLock(ctx, in.ID, provisioner.UnlockAPI); err != nil {
		t.Fatal(err)
	}

	if err := s.Client.SetInstallationLock(ctx, in.ID, provisioner.LockDeletion); err != nil {
		t.Fatal(err)
	}
	expectErr(t, s.Client.DeleteInstallation(ctx, in.ID), provisioner.ErrForbidden, "deleting a deletion-locked installation")
	if _, err := s.Client.HibernateInstallation(ctx, in.ID); err != nil {
		t.Errorf("a deletion lock does not stop other changes: %v", err)
	}
	locked := true
	list, err := s.Client.ListInstallations(ctx, provisioner.ListOptions{Name: in.Name, DeletionLocked: &locked})
	if err != nil || len(list) != 1 || !list[0].DeletionLocked {
		t.Errorf("listing deletion-locked: %v, %v", list, err)
	}
	if err := s.Client.SetInstallationLock(ctx, in.ID, provisioner.UnlockDeletion); err != nil {
		t.Fatal(err)
	}
	s.Advance(t, in.ID, provisioner.StateStable)
	if err := s.Client.DeleteInstallation(ctx, in.ID); err != nil {
		t.Errorf("deleting once unlocked: %v", err)
	}
}

func (s *suite) statusCounts(t *testing.T) {
	ctx := t.Context()
	s.stable(t, "counted")
	// Other tests may share the target, so only relations are asserted.
	st, err := s.Client.GetInstallationsStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.InstallationsTotal < 1 || st.InstallationsStable < 1 {
		t.Errorf("status %+v does not count this test's stable installation", st)
	}
	if st.InstallationsTotal != st.InstallationsStable+st.InstallationsHibernating+st.InstallationsPendingDeletion+st.InstallationsUpdating {
		t.Errorf("counts do not add up: %+v", st)
	}
	count, err := s.Client.CountInstallations(ctx, false)
	if err != nil || count < 1 {
		t.Fatalf("count %d, %v", count, err)
	}
	withDeleted, err := s.Client.CountInstallations(ctx, true)
	if err != nil || withDeleted < count {
		t.Errorf("count with deleted %d < %d (%v)", withDeleted, count, err)
	}
}

func (s *suite) webhooks(t *testing.T) {
	ctx := t.Context()
	type delivery struct {
		payload provisioner.WebhookPayload
		header  string
	}
	var mu sync.Mutex
	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p provisioner.WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got = append(got, delivery{p, r.Header.Get("X-Envwick-Token")})
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)

	owner := s.Owner + "-hooks"
	hook, err := s.Client.CreateWebhook(ctx, provisioner.CreateWebhookRequest{OwnerID: owner, URL: receiver.URL + "/hook",
		Headers: []provisioner.WebhookHeader{{Key: "X-Envwick-Token", Value: ptr("contract")}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Client.DeleteWebhook(context.Background(), hook.ID) })
	if hook.ID == "" || hook.OwnerID != owner || hook.URL != receiver.URL+"/hook" || hook.DeleteAt != 0 {
		t.Errorf("registered %+v", hook)
	}
	_, err = s.Client.CreateWebhook(ctx, provisioner.CreateWebhookRequest{OwnerID: owner, URL: "gopher://x"})
	expectErr(t, err, provisioner.ErrBadRequest, "a webhook with a bad scheme")

	in := s.mustCreate(t, s.request(s.name("hooked"), s.Owner))
	var creation *delivery
	deadline := time.Now().Add(15 * time.Second)
	for creation == nil && time.Now().Before(deadline) {
		mu.Lock()
		for i := range got {
			if got[i].payload.ID == in.ID && got[i].payload.NewState == provisioner.StateCreationRequested {
				creation = &got[i]
			}
		}
		mu.Unlock()
		if creation == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if creation == nil {
		t.Fatal("no webhook for the creation")
	}
	p := creation.payload
	if p.OldState != provisioner.NonApplicableState || p.Type != provisioner.TypeInstallation || p.EventID == "" ||
		p.ExtraData["Name"] != in.Name || creation.header != "contract" {
		t.Errorf("creation webhook %+v with header %q", p, creation.header)
	}
	if ts := time.Unix(0, p.Timestamp); ts.Before(time.Now().Add(-time.Hour)) || ts.After(time.Now().Add(time.Hour)) {
		t.Errorf("webhook timestamp %d is not nanoseconds of now", p.Timestamp)
	}

	hooks, err := s.Client.ListWebhooks(ctx, owner, false)
	if err != nil || len(hooks) != 1 || hooks[0].ID != hook.ID || hooks[0].Headers[0].Key != "X-Envwick-Token" {
		t.Errorf("listing webhooks: %+v, %v", hooks, err)
	}
	if err := s.Client.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	expectErr(t, s.Client.DeleteWebhook(ctx, hook.ID), provisioner.ErrBadRequest, "deleting a webhook twice")
	if hooks, err := s.Client.ListWebhooks(ctx, owner, false); err != nil || len(hooks) != 0 {
		t.Errorf("after deleting: %v, %v", hooks, err)
	}
	if hooks, err := s.Client.ListWebhooks(ctx, owner, true); err != nil || len(hooks) != 1 || hooks[0].DeleteAt == 0 {
		t.Errorf("deleted webhooks on request: %v, %v", hooks, err)
	}
}

// randomLabel returns n random lower-case letters and digits.
func randomLabel(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
