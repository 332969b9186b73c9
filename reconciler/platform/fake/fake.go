// Package fake is an in-memory platform with a vocabulary of its own, for
// tests of the reconciler that need a platform but not a wire API. It keeps
// the rules the reconciler relies on (owner filters, a name in use is a
// conflict, unknown IDs are not found) and moves installations through busy
// states to resting ones when Settle is called, so a test decides when the
// platform has finished.
package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/envwick/envwick/reconciler/platform"
)

// The fake's installation states: deliberately not the provisioner's, so a
// reconciler test on the fake shows the reconciler reads phases only.
const (
	StateCreating    = "creating"
	StateRunning     = "running"
	StateUpdating    = "updating"
	StateHibernating = "going-to-sleep"
	StateHibernated  = "asleep"
	StateWaking      = "waking"
	StateFailed      = "broken"
	StateDeleting    = "deleting"
	StateDeleted     = "gone"
	// StateBinned is a deleted installation kept for the pending window:
	// DeleteInstallation of a running or asleep installation puts it there
	// (when PendingDeletion is set), CancelDeletion takes it back
	// (StateRestoring, then running or asleep), and Purge deletes it.
	StateBinned    = "binned"
	StateRestoring = "restoring"
)

// settled is the state each busy state ends in.
var settled = map[string]string{
	StateCreating:    StateRunning,
	StateUpdating:    StateRunning,
	StateHibernating: StateHibernated,
	StateWaking:      StateRunning,
	StateDeleting:    StateDeleted,
}

// Platform is the in-memory platform. The zero value is ready to use.
type Platform struct {
	mu     sync.Mutex
	insts  map[string]*platform.Installation
	nextID int
	// FailCreates makes every create end in the failed state at Settle.
	FailCreates bool
	// Now is the clock for creation times (default time.Now).
	Now func() time.Time
	// URL, when set, gives an installation's URL from its name (default
	// https://NAME.fake.test), to point installations at a real server.
	URL func(name string) string
	// PendingDeletion keeps deleted running or asleep installations in
	// StateBinned until Purge, as a platform with a deletion window does.
	PendingDeletion bool
	// restoreTo is the state a binned installation returns to.
	restoreTo map[string]string
	// ExecFunc answers Exec (nil: empty output); every command is recorded
	// (ExecLog).
	ExecFunc func(inst platform.Installation, command string, args []string) ([]byte, error)
	execLog  map[string][][]string
}

var (
	_ platform.Platform         = (*Platform)(nil)
	_ platform.DeletionCanceler = (*Platform)(nil)
)

// Classify maps the fake's states to envwick's phases.
func (p *Platform) Classify(state string) platform.Phase {
	switch state {
	case StateCreating:
		return platform.PhaseCreating
	case StateRunning:
		return platform.PhaseStable
	case StateUpdating:
		return platform.PhaseUpdating
	case StateHibernating:
		return platform.PhaseHibernating
	case StateHibernated:
		return platform.PhaseHibernated
	case StateWaking:
		return platform.PhaseWakingUp
	case StateFailed:
		return platform.PhaseFailed
	case StateDeleting, StateDeleted:
		return platform.PhaseDeleting
	case StateBinned:
		return platform.PhaseDeletionPending
	}
	return platform.PhaseWorking
}

// Settle finishes every change in progress.
func (p *Platform) Settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.insts {
		next, ok := settled[in.State]
		if in.State == StateRestoring {
			next, ok = p.restoreTo[in.ID], true
		}
		if !ok {
			continue
		}
		if in.State == StateCreating && p.FailCreates {
			next = StateFailed
		}
		p.setState(in, next)
	}
}

// Len is how many installations exist, deleted ones included.
func (p *Platform) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.insts)
}

func (p *Platform) setState(in *platform.Installation, state string) {
	in.State = state
	in.Phase = p.Classify(state)
}

func (p *Platform) urlOf(name string) string {
	if p.URL != nil {
		return p.URL(name)
	}
	return "https://" + name + ".fake.test"
}

func (p *Platform) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// ListInstallations calls fn with one page of the matching installations,
// oldest first.
func (p *Platform) ListInstallations(ctx context.Context, f platform.ListFilter, fn func([]platform.Installation) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	var page []platform.Installation
	for _, in := range p.insts {
		if (f.OwnerID != "" && in.OwnerID != f.OwnerID) || (f.GroupID != "" && in.GroupID != f.GroupID) ||
			(f.Name != "" && in.Name != f.Name) || (in.State == StateDeleted && !f.IncludeDeleted) {
			continue
		}
		page = append(page, clone(in))
	}
	p.mu.Unlock()
	slices.SortFunc(page, func(a, b platform.Installation) int { return a.CreateAt.Compare(b.CreateAt) })
	return fn(page)
}

// GetInstallation returns one installation.
func (p *Platform) GetInstallation(_ context.Context, id string) (*platform.Installation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.insts[id]
	if !ok {
		return nil, fmt.Errorf("installation %s: %w", id, platform.ErrNotFound)
	}
	out := clone(in)
	return &out, nil
}

// CreateInstallation starts creating an installation; a name used by an
// installation that is not deleted is a conflict.
func (p *Platform) CreateInstallation(_ context.Context, r platform.InstallationRequest) (*platform.Installation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.insts {
		if in.Name == r.Name && in.State != StateDeleted {
			return nil, fmt.Errorf("name %s is in use: %w", r.Name, platform.ErrConflict)
		}
	}
	if p.insts == nil {
		p.insts = map[string]*platform.Installation{}
	}
	p.nextID++
	in := &platform.Installation{
		ID: "fake" + strconv.Itoa(p.nextID), Name: r.Name, OwnerID: r.OwnerID, GroupID: r.GroupID,
		Version: r.Version, Image: r.Image, Size: r.Size, License: r.License, Affinity: r.Affinity,
		Database: r.Database, Filestore: r.Filestore, Env: maps.Clone(r.Env), Annotations: slices.Clone(r.Annotations),
		URL: p.urlOf(r.Name), CreateAt: p.now(),
	}
	p.setState(in, StateCreating)
	p.insts[in.ID] = in
	out := clone(in)
	return &out, nil
}

// UpdateInstallation applies a patch to a resting installation.
func (p *Platform) UpdateInstallation(_ context.Context, id string, patch platform.InstallationPatch) (*platform.Installation, error) {
	return p.change(id, []string{StateRunning, StateFailed}, StateUpdating, func(in *platform.Installation) {
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&in.Version, patch.Version)
		set(&in.Image, patch.Image)
		set(&in.Size, patch.Size)
		set(&in.License, patch.License)
		if patch.Env != nil {
			if len(patch.Env) == 0 {
				in.Env = nil
			}
			for k, v := range patch.Env {
				if v == "" {
					delete(in.Env, k)
					continue
				}
				if in.Env == nil {
					in.Env = map[string]string{}
				}
				in.Env[k] = v
			}
		}
	})
}

// HibernateInstallation starts hibernating a running installation.
func (p *Platform) HibernateInstallation(_ context.Context, id string) (*platform.Installation, error) {
	return p.change(id, []string{StateRunning}, StateHibernating, nil)
}

// WakeUpInstallation starts waking a hibernated installation.
func (p *Platform) WakeUpInstallation(_ context.Context, id string) (*platform.Installation, error) {
	return p.change(id, []string{StateHibernated}, StateWaking, nil)
}

// DeleteInstallation starts deleting an installation; one already on its
// way out counts as deleted.
func (p *Platform) DeleteInstallation(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.insts[id]
	if !ok {
		return fmt.Errorf("installation %s: %w", id, platform.ErrNotFound)
	}
	if in.DeletionLocked {
		return fmt.Errorf("installation %s: %w", id, platform.ErrDeletionLocked)
	}
	switch in.State {
	case StateDeleting, StateDeleted, StateBinned:
	case StateRunning, StateHibernated:
		if p.PendingDeletion {
			if p.restoreTo == nil {
				p.restoreTo = map[string]string{}
			}
			p.restoreTo[in.ID] = in.State
			p.setState(in, StateBinned)
			break
		}
		fallthrough
	default:
		p.setState(in, StateDeleting)
	}
	return nil
}

// CancelDeletion takes a binned installation back; it is running (or
// asleep) again at the next Settle.
func (p *Platform) CancelDeletion(_ context.Context, id string) (*platform.Installation, error) {
	return p.change(id, []string{StateBinned}, StateRestoring, nil)
}

// Purge ends the pending window of every binned installation: they are
// deleted for good.
func (p *Platform) Purge() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.insts {
		if in.State == StateBinned {
			p.setState(in, StateDeleted)
		}
	}
}

// change moves an installation from one of the states in from to state,
// applying mut first; any other state is refused.
func (p *Platform) change(id string, from []string, state string, mut func(*platform.Installation)) (*platform.Installation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.insts[id]
	if !ok {
		return nil, fmt.Errorf("installation %s: %w", id, platform.ErrNotFound)
	}
	if !slices.Contains(from, in.State) {
		return nil, fmt.Errorf("installation %s is %s: cannot move to %s", id, in.State, state)
	}
	if mut != nil {
		mut(in)
	}
	p.setState(in, state)
	out := clone(in)
	return &out, nil
}

func clone(in *platform.Installation) platform.Installation {
	out := *in
	out.Env = maps.Clone(in.Env)
	out.Annotations = slices.Clone(in.Annotations)
	return out
}
