package reconciler

import (
	"context"
	"errors"
	"time"
)

// Platform is what the reconciler needs from the provisioner. It is defined
// here, where it is consumed, so the plan and the pass speak one small
// vocabulary; NewProvisionerPlatform adapts the REST client to it.
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

// Installation is the reconciler's view of a provisioner installation.
type Installation struct {
	ID          string            `json:"id,omitempty"`
	Name        string            `json:"name,omitempty"`
	OwnerID     string            `json:"ownerID,omitempty"`
	GroupID     string            `json:"groupID,omitempty"`
	State       string            `json:"state,omitempty"`
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

// Provisioner installation states the reconciler distinguishes.
const (
	StateStable        = "stable"
	StateHibernating   = "hibernating" // the provisioner's resting hibernated state
	StateDeleted       = "deleted"
	StateCreationFail  = "creation-failed"
	StateUpdateFailed  = "update-failed"
	StateDeletionFail  = "deletion-failed"
	StateCreationNoFit = "creation-no-compatible-clusters"
)

// stateClass groups provisioner states by what the reconciler may do next.
type stateClass int

const (
	classBusy       stateClass = iota // a change is in progress: wait
	classStable                       // running and idle
	classHibernated                   // hibernated and idle
	classFailed                       // stuck: needs attention or a retry
	classDeleting                     // on its way out (or gone)
)

func classify(state string) stateClass {
	switch state {
	case StateStable:
		return classStable
	case StateHibernating:
		return classHibernated
	case StateCreationFail, StateUpdateFailed, StateDeletionFail, StateCreationNoFit,
		"db-restoration-failed", "db-migration-failed":
		return classFailed
	case StateDeleted, "deletion-pending-requested", "deletion-pending-in-progress", "deletion-pending",
		"deletion-requested", "deletion-in-progress", "deletion-final-cleanup":
		return classDeleting
	default:
		return classBusy
	}
}
