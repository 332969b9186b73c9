package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/envwick/envwick/reconciler/platform"
)

// errHealthPageDone stops the health read after its first page.
var errHealthPageDone = errors.New("first page read")

// PlatformHealth asks the platform for one page of envwick's installations
// and says, in one line for people (/cloud status), whether it answered and
// how fast. The bots never call the platform; this small read is theirs.
func (r *Reconciler) PlatformHealth(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	n := 0
	err := r.ext.platform.ListInstallations(ctx, platform.ListFilter{OwnerID: r.ext.owner.OwnerID, GroupID: r.ext.owner.GroupID},
		func(page []platform.Installation) error {
			n = len(page)
			return errHealthPageDone
		})
	if err != nil && !errors.Is(err, errHealthPageDone) {
		return "", fmt.Errorf("listing installations: %w", err)
	}
	return fmt.Sprintf("the provisioner answers (%d installations on the first page, in %s).", n, time.Since(start).Round(time.Millisecond)), nil
}
