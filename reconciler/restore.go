package reconciler

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/envwick/envwick/reconciler/platform"
)

// A platform that keeps deleted installations for a window
// (platform.DeletionCanceler) lets a deletion be undone: when an
// environment comes back (a revert of the commit that removed it, a file
// added again, a label put back) while its last installation is still
// pending deletion, the pass cancels that deletion and adopts the same
// installation, data and all, instead of creating a new, empty one. After
// the window the installation is gone and a new one is created as before.

// addPending files inst under pending when its deletion can still be
// cancelled, and reports whether it did.
func (o *observed) addPending(name string, inst *platform.Installation) bool {
	if inst.Phase != platform.PhaseDeletionPending {
		return false
	}
	if !slices.ContainsFunc(o.pending[name], func(x platform.Installation) bool { return x.ID == inst.ID }) {
		o.pending[name] = append(o.pending[name], *inst)
	}
	return true
}

// findPending looks for pending deletions of env among every owned
// installation. An incremental pass calls it only for an environment with
// no installation and no recorded one: a new environment, or one whose
// status went with its file, so the name of its last installation is not
// known.
func (x *external) findPending(ctx context.Context, env string, o *observed) error {
	err := x.call(ctx, "list", func(ctx context.Context) error {
		return x.platform.ListInstallations(ctx, platform.ListFilter{OwnerID: x.owner.OwnerID, GroupID: x.owner.GroupID}, func(page []platform.Installation) error {
			for i := range page {
				if inst := &page[i]; x.owner.owns(inst) && environmentOf(inst) == env {
					o.addPending(env, inst)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("looking for a pending deletion of %s: %w", env, err)
	}
	return nil
}

// restoreInstead turns the create planned for an environment into a
// restore of its newest installation pending deletion, if there is one.
func restoreInstead(it Item, pending []platform.Installation) Item {
	if it.Action != ActionCreate || len(pending) == 0 {
		return it
	}
	newest := slices.MaxFunc(pending, func(a, b platform.Installation) int {
		return cmp.Or(a.CreateAt.Compare(b.CreateAt), cmp.Compare(a.ID, b.ID))
	})
	it.Action, it.Installation = ActionRestore, &newest
	it.Reason = fmt.Sprintf("installation %s (%s) is pending deletion: cancel the deletion and adopt it", newest.Name, newest.ID)
	return it
}

// Restore cancels the pending deletion of an installation.
func (x *external) Restore(ctx context.Context, id string) (*platform.Installation, error) {
	dc, ok := x.platform.(platform.DeletionCanceler)
	if !ok {
		return nil, fmt.Errorf("restoring installation %s: the platform cannot cancel deletions", id)
	}
	return x.change(ctx, "cancel-deletion", "restoring", id, func(ctx context.Context) (*platform.Installation, error) {
		return dc.CancelDeletion(ctx, id)
	})
}
