// Package platformtest is the behaviour every platform provider owes the
// reconciler, as one suite run against each provider (the fake, and the
// provisioner client against the simulator). A new provider passes it
// before the reconciler drives it.
package platformtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform"
)

// Target is one provider under test.
type Target struct {
	Platform platform.Platform
	// Request is a valid create request for name under the owner.
	Request func(name string) platform.InstallationRequest
	// OwnerID is the owner Request creates under.
	OwnerID string
	// Settle, when set, lets the platform finish work in progress; it is
	// called while waiting for an installation to reach a phase.
	Settle func()
	// ExecLog, when set, returns the commands an Executor ran in an
	// installation, each as the command followed by its arguments.
	ExecLog func(installationID string) [][]string
}

// Run runs the suite against t.
func Run(t *testing.T, tg Target) {
	ctx := context.Background()
	p := tg.Platform

	created, err := p.CreateInstallation(ctx, tg.Request("conformance-a"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.Name != "conformance-a" {
		t.Fatalf("create returned %+v: want an ID and the name asked for", created)
	}
	checkPhase(t, p, created)

	t.Run("name in use is a conflict", func(t *testing.T) {
		_, err := p.CreateInstallation(ctx, tg.Request("conformance-a"))
		if !errors.Is(err, platform.ErrConflict) {
			t.Fatalf("second create with the same name: %v, want ErrConflict", err)
		}
	})
	t.Run("unknown installation is not found", func(t *testing.T) {
		if _, err := p.GetInstallation(ctx, "no-such-installation-id"); !errors.Is(err, platform.ErrNotFound) {
			t.Fatalf("get unknown: %v, want ErrNotFound", err)
		}
	})

	waitPhase(t, tg, created.ID, platform.PhaseStable)

	t.Run("list filters by owner and name", func(t *testing.T) {
		if got := list(t, p, platform.ListFilter{OwnerID: tg.OwnerID}); !has(got, created.ID) {
			t.Fatalf("owner %s lists %v: want %s", tg.OwnerID, names(got), created.ID)
		}
		if got := list(t, p, platform.ListFilter{OwnerID: "someone-else"}); len(got) != 0 {
			t.Fatalf("another owner lists %v: want nothing", names(got))
		}
		if got := list(t, p, platform.ListFilter{OwnerID: tg.OwnerID, Name: "conformance-b"}); len(got) != 0 {
			t.Fatalf("name filter conformance-b lists %v: want nothing", names(got))
		}
		for _, in := range list(t, p, platform.ListFilter{OwnerID: tg.OwnerID, Name: "conformance-a"}) {
			checkPhase(t, p, &in)
		}
	})

	t.Run("update", func(t *testing.T) {
		env := map[string]string{"MM_CONFORMANCE": "1"}
		if _, err := p.UpdateInstallation(ctx, created.ID, platform.InstallationPatch{Env: env}); err != nil {
			t.Fatalf("update: %v", err)
		}
		got := waitPhase(t, tg, created.ID, platform.PhaseStable)
		if got.Env["MM_CONFORMANCE"] != "1" {
			t.Fatalf("after update env is %v: want MM_CONFORMANCE=1", got.Env)
		}
		if _, err := p.UpdateInstallation(ctx, created.ID, platform.InstallationPatch{Env: map[string]string{"MM_CONFORMANCE": ""}}); err != nil {
			t.Fatalf("update removing a variable: %v", err)
		}
		if got := waitPhase(t, tg, created.ID, platform.PhaseStable); got.Env["MM_CONFORMANCE"] != "" {
			t.Fatalf("an empty value must remove the variable; env is %v", got.Env)
		}
	})

	t.Run("hibernate and wake up", func(t *testing.T) {
		in, err := p.HibernateInstallation(ctx, created.ID)
		if err != nil {
			t.Fatalf("hibernate: %v", err)
		}
		checkPhase(t, p, in)
		waitPhase(t, tg, created.ID, platform.PhaseHibernated)
		if _, err := p.WakeUpInstallation(ctx, created.ID); err != nil {
			t.Fatalf("wake up: %v", err)
		}
		waitPhase(t, tg, created.ID, platform.PhaseStable)
	})

	if ex, ok := p.(platform.Executor); ok {
		t.Run("exec", func(t *testing.T) { runExec(t, tg, ex, created.ID) })
	}
	if dl, ok := p.(platform.DeletionLocker); ok {
		t.Run("deletion lock", func(t *testing.T) { runDeletionLock(t, tg, dl, created.ID) })
	}

	t.Run("delete", func(t *testing.T) {
		if err := p.DeleteInstallation(ctx, created.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if err := p.DeleteInstallation(ctx, created.ID); err != nil {
			t.Fatalf("a second delete must count as deleted: %v", err)
		}
		in, err := p.GetInstallation(ctx, created.ID)
		if err != nil {
			t.Fatalf("get after delete: %v", err)
		}
		if !in.Phase.Gone() {
			t.Fatalf("after delete the phase is %s (state %s): want Deleting or DeletionPending", in.Phase, in.State)
		}
		if _, ok := p.(platform.DeletionCanceler); !ok && in.Phase == platform.PhaseDeletionPending {
			t.Fatalf("the phase after delete is DeletionPending, but the provider cannot cancel deletions")
		}
	})

	t.Run("cancel a pending deletion", func(t *testing.T) {
		dc, ok := p.(platform.DeletionCanceler)
		if !ok {
			t.Skip("the provider deletes at once")
		}
		in, err := p.CreateInstallation(ctx, tg.Request("conformance-b"))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		waitPhase(t, tg, in.ID, platform.PhaseStable)
		if err := p.DeleteInstallation(ctx, in.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		got := waitPhase(t, tg, in.ID, platform.PhaseDeletionPending)
		// A deletion still being moved to its pending window may refuse
		// the cancel for a moment; the reconciler retries, so does this.
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, err = dc.CancelDeletion(ctx, in.ID)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("cancel deletion: %v", err)
		}
		if got.ID != in.ID || got.Phase.Gone() {
			t.Fatalf("cancel returned %s in %s (%s): want %s no longer deleted", got.ID, got.Phase, got.State, in.ID)
		}
		checkPhase(t, p, got)
		back := waitPhase(t, tg, in.ID, platform.PhaseStable)
		if back.Name != in.Name {
			t.Fatalf("the restored installation is named %s, want %s", back.Name, in.Name)
		}
		if _, err := dc.CancelDeletion(ctx, "no-such-installation-id"); !errors.Is(err, platform.ErrNotFound) {
			t.Fatalf("cancel unknown: %v, want ErrNotFound", err)
		}
	})
}

// checkPhase fails unless in carries the phase of its state.
func checkPhase(t *testing.T, p platform.Platform, in *platform.Installation) {
	t.Helper()
	if in.Phase == "" || in.Phase != p.Classify(in.State) {
		t.Fatalf("installation %s in state %q carries phase %q; Classify says %q", in.ID, in.State, in.Phase, p.Classify(in.State))
	}
}

func waitPhase(t *testing.T, tg Target, id string, want platform.Phase) *platform.Installation {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if tg.Settle != nil {
			tg.Settle()
		}
		in, err := tg.Platform.GetInstallation(context.Background(), id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		checkPhase(t, tg.Platform, in)
		if in.Phase == want {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("installation %s is still %s (%s): want %s", id, in.Phase, in.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func list(t *testing.T, p platform.Platform, f platform.ListFilter) []platform.Installation {
	t.Helper()
	var out []platform.Installation
	if err := p.ListInstallations(context.Background(), f, func(page []platform.Installation) error {
		out = append(out, page...)
		return nil
	}); err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	return out
}

func has(insts []platform.Installation, id string) bool {
	for _, in := range insts {
		if in.ID == id {
			return true
		}
	}
	return false
}

func names(insts []platform.Installation) []string {
	var out []string
	for _, in := range insts {
		out = append(out, in.Name+"("+in.State+")")
	}
	return out
}
