package platformtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/envwick/envwick/reconciler/platform"
)

// runExec: a command runs in a stable installation and is recorded with
// its arguments; an unknown installation is not found.
func runExec(t *testing.T, tg Target, ex platform.Executor, id string) {
	ctx := context.Background()
	waitPhase(t, tg, id, platform.PhaseStable)
	args := []string{"version", "--local"}
	if _, err := ex.Exec(ctx, id, "mmctl", args); err != nil {
		t.Fatalf("exec mmctl version: %v", err)
	}
	if tg.ExecLog != nil {
		log := tg.ExecLog(id)
		if len(log) == 0 || !slices.Equal(log[len(log)-1], append([]string{"mmctl"}, args...)) {
			t.Fatalf("exec log = %v: want mmctl %s last", log, strings.Join(args, " "))
		}
	}
	if _, err := ex.Exec(ctx, "no-such-installation-id", "mmctl", args); !errors.Is(err, platform.ErrNotFound) && !errors.Is(err, platform.ErrNotRunning) {
		t.Fatalf("exec in an unknown installation: %v, want ErrNotFound or ErrNotRunning", err)
	}
}

// runDeletionLock: a locked installation reports the lock and refuses
// deletion with ErrDeletionLocked; unlocked, it reports none.
func runDeletionLock(t *testing.T, tg Target, dl platform.DeletionLocker, id string) {
	ctx := context.Background()
	p := tg.Platform
	if err := dl.SetDeletionLock(ctx, id, true); err != nil {
		t.Fatalf("lock: %v", err)
	}
	if in, err := p.GetInstallation(ctx, id); err != nil || !in.DeletionLocked {
		t.Fatalf("after lock: %+v, %v: want DeletionLocked", in, err)
	}
	if err := p.DeleteInstallation(ctx, id); !errors.Is(err, platform.ErrDeletionLocked) {
		t.Fatalf("delete of a locked installation: %v, want ErrDeletionLocked", err)
	}
	if in := waitPhase(t, tg, id, platform.PhaseStable); in.Phase == platform.PhaseDeleting {
		t.Fatal("a locked installation is being deleted")
	}
	if err := dl.SetDeletionLock(ctx, id, false); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if in, err := p.GetInstallation(ctx, id); err != nil || in.DeletionLocked {
		t.Fatalf("after unlock: %+v, %v: want no lock", in, err)
	}
}
