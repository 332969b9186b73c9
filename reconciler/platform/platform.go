// Package platform is the seam between the reconciler and the SaaS platform
// it drives: the interface a provider implements, the small vocabulary the
// plan and the pass speak (installations, requests, patches) and envwick's
// own phases, so the reconciler never reads a platform's raw state strings.
// Each provider lives in a folder of its own beside this one (provisioner,
// provisionersim); fake is an in-memory one for tests of the reconciler.
package platform

import (
	"context"
	"errors"
	"time"
)

// Platform is what the reconciler needs from a platform. A provider
// implements it; the reconciler depends on nothing else of the provider.
type Platform interface {
	// ListInstallations calls fn with each page of installations matching f.
	ListInstallations(ctx context.Context, f ListFilter, fn func(page []Installation) error) error
	// GetInstallation returns one installation; ErrNotFound when it is unknown.
	GetInstallation(ctx context.Context, id string) (*Installation, error)
	// CreateInstallation asks for a new installation. A name still in use or
	// reserved is reported as ErrConflict.
	CreateInstallation(ctx context.Context, r InstallationRequest) (*Installation, error)
	// UpdateInstallation patches an installation.
	UpdateInstallation(ctx context.Context, id string, p InstallationPatch) (*Installation, error)
	HibernateInstallation(ctx context.Context, id string) (*Installation, error)
	WakeUpInstallation(ctx context.Context, id string) (*Installation, error)
	DeleteInstallation(ctx context.Context, id string) error
	// Classify maps one of the platform's installation states to envwick's
	// phase: what the reconciler may do next. Every Installation a provider
	// returns carries the phase of its state already; Classify is for states
	// recorded earlier (the status branch keeps the raw state too).
	Classify(state string) Phase
}

// DeletionCanceler is an optional capability of a Platform that keeps a
// deleted installation, with its data, for a window (PhaseDeletionPending)
// before deleting it for good. Within the window the reconciler cancels the
// deletion of an environment that comes back (a revert of the commit that
// removed it) and adopts the same installation instead of creating a new,
// empty one.
type DeletionCanceler interface {
	// CancelDeletion takes back the pending deletion of an installation in
	// PhaseDeletionPending and returns it (busy until the platform has
	// restored it). ErrNotFound when it is unknown.
	CancelDeletion(ctx context.Context, id string) (*Installation, error)
}

// Errors a Platform reports, wrapped with the server's message.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// ListFilter selects installations.
type ListFilter struct {
	OwnerID string
	GroupID string
	// Name selects one installation name; IncludeDeleted also returns
	// installations in the deleted state.
	Name           string
	IncludeDeleted bool
}

// Installation is the reconciler's view of a platform installation.
type Installation struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	OwnerID string `json:"ownerID,omitempty"`
	GroupID string `json:"groupID,omitempty"`
	// State is the platform's own state, for people; Phase is what it
	// means to envwick.
	State       string            `json:"state,omitempty"`
	Phase       Phase             `json:"phase,omitempty"`
	Version     string            `json:"version,omitempty"`
	Image       string            `json:"image,omitempty"`
	Size        string            `json:"size,omitempty"`
	License     string            `json:"license,omitempty"`
	Affinity    string            `json:"affinity,omitempty"`
	Database    string            `json:"database,omitempty"`
	Filestore   string            `json:"filestore,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Annotations []string          `json:"annotations,omitempty"`
	URL         string            `json:"url,omitempty"`
	CreateAt    time.Time         `json:"createAt,omitempty"`
	// DeletionLocked is the platform's deletion lock (DeletionLocker).
	DeletionLocked bool `json:"deletionLocked,omitempty"`
}

// InstallationRequest creates an installation.
type InstallationRequest struct {
	Name        string
	OwnerID     string
	GroupID     string
	Version     string
	Image       string
	Size        string
	License     string
	Affinity    string
	Database    string
	Filestore   string
	Env         map[string]string
	Annotations []string
}

// InstallationPatch changes an installation; nil fields are left alone.
type InstallationPatch struct {
	Version *string `json:"version,omitempty"`
	Image   *string `json:"image,omitempty"`
	Size    *string `json:"size,omitempty"`
	License *string `json:"license,omitempty"`
	// Env, when non-nil, is merged into the installation's environment
	// variables, as the provisioner merges them: each entry is set, and an
	// entry with an empty value removes that variable. Variables not named
	// are left alone, so to end with exactly a wanted set the patch names
	// every variable to remove (patchFor does). An empty non-nil map
	// clears every variable.
	Env map[string]string `json:"env,omitempty"`
}

// Empty reports whether the patch changes nothing.
func (p InstallationPatch) Empty() bool {
	return p.Version == nil && p.Image == nil && p.Size == nil && p.License == nil && p.Env == nil
}

// Phase is envwick's classification of an installation state: what the
// reconciler may do next, independent of the platform's vocabulary.
type Phase string

const (
	// PhaseCreating: the installation is being created.
	PhaseCreating Phase = "Creating"
	// PhaseUpdating: a change (version, size, env) is being rolled out.
	PhaseUpdating Phase = "Updating"
	// PhaseHibernating: on its way to hibernation.
	PhaseHibernating Phase = "Hibernating"
	// PhaseWakingUp: on its way back from hibernation.
	PhaseWakingUp Phase = "WakingUp"
	// PhaseWorking: other platform work in progress (a migration, a restore).
	PhaseWorking Phase = "Working"
	// PhaseStable: running and idle.
	PhaseStable Phase = "Stable"
	// PhaseHibernated: hibernated and idle.
	PhaseHibernated Phase = "Hibernated"
	// PhaseUpdateFailed: the last update failed; the installation still
	// runs and another update may be tried.
	PhaseUpdateFailed Phase = "UpdateFailed"
	// PhaseFailed: stuck; needs attention.
	PhaseFailed Phase = "Failed"
	// PhaseDeleting: on its way out, or gone.
	PhaseDeleting Phase = "Deleting"
	// PhaseDeletionPending: deleted, but kept by the platform for a while
	// with its data; a DeletionCanceler can still take the deletion back.
	// Only providers that implement DeletionCanceler report it.
	PhaseDeletionPending Phase = "DeletionPending"
)

// Busy reports whether the platform is working on the installation, so the
// reconciler waits. A phase it does not know counts as busy: waiting is
// the safe answer to a state that may be new.
func (p Phase) Busy() bool {
	switch p {
	case PhaseStable, PhaseHibernated, PhaseUpdateFailed, PhaseFailed, PhaseDeleting, PhaseDeletionPending:
		return false
	}
	return true
}

// Gone reports whether the installation is deleted or on its way out, so it
// backs no environment (a pending deletion may still be cancelled).
func (p Phase) Gone() bool { return p == PhaseDeleting || p == PhaseDeletionPending }

// Failed reports whether the installation is in a failed phase.
func (p Phase) Failed() bool { return p == PhaseFailed || p == PhaseUpdateFailed }
