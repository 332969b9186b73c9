package provisioner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/envwick/envwick/reconciler/platform"
)

// Platform is the provisioner as an envwick platform provider: it adapts
// the REST client to platform.Platform and classifies the provisioner's
// installation states into envwick's phases.
type Platform struct {
	Client *Client
	// Domain is appended to an installation name to make its DNS name
	// (the provisioner requires one that starts with the name).
	Domain string
	// PageSize is the list page size (default DefaultPageSize).
	PageSize int

	decoded decoded
}

var (
	_ platform.Platform         = (*Platform)(nil)
	_ platform.DeletionCanceler = (*Platform)(nil)
)

// ListInstallations pages through installations. An installation whose
// JSON document is the one a list returned before is not decoded again
// (see decoded): a reconciler lists the whole fleet on every pass, and most
// of it has not changed.
func (p *Platform) ListInstallations(ctx context.Context, f platform.ListFilter, fn func([]platform.Installation) error) error {
	opts := ListOptions{PerPage: p.PageSize, OwnerID: f.OwnerID, GroupID: f.GroupID, Name: f.Name, IncludeDeleted: f.IncludeDeleted}
	var buf []platform.Installation
	seen := p.decoded.begin()
	err := p.Client.ListInstallationPagesJSON(ctx, opts, func(docs [][]byte) error {
		buf = buf[:0]
		for _, doc := range docs {
			in, err := p.decoded.get(doc, seen)
			if err != nil {
				return fmt.Errorf("listing installations: decoding an installation: %w", err)
			}
			buf = append(buf, in)
		}
		return fn(buf)
	})
	if err == nil && f.Name == "" {
		p.decoded.sweep(seen)
	}
	return mapErr(err, false)
}

// GetInstallation returns one installation.
func (p *Platform) GetInstallation(ctx context.Context, id string) (*platform.Installation, error) {
	in, err := p.Client.GetInstallation(ctx, id)
	return wrap(in, err, false)
}

// CreateInstallation creates an installation named r.Name at r.Name.Domain.
func (p *Platform) CreateInstallation(ctx context.Context, r platform.InstallationRequest) (*platform.Installation, error) {
	req := CreateInstallationRequest{
		Name:          r.Name,
		OwnerID:       r.OwnerID,
		GroupID:       r.GroupID,
		Version:       r.Version,
		Image:         r.Image,
		DNSNames:      []string{r.Name + "." + strings.TrimPrefix(p.Domain, ".")},
		License:       r.License,
		Size:          r.Size,
		Affinity:      r.Affinity,
		Database:      r.Database,
		Filestore:     r.Filestore,
		MattermostEnv: EnvFromStrings(r.Env),
		Annotations:   r.Annotations,
	}
	in, err := p.Client.CreateInstallation(ctx, req)
	return wrap(in, err, true)
}

// UpdateInstallation patches an installation. patch.Env is sent as the
// provisioner's MattermostEnv patch, which merges: an env var with an empty
// value goes out without a value and removes that variable, an empty map
// clears them all (see platform.InstallationPatch.Env).
func (p *Platform) UpdateInstallation(ctx context.Context, id string, patch platform.InstallationPatch) (*platform.Installation, error) {
	req := PatchInstallationRequest{Version: patch.Version, Image: patch.Image, Size: patch.Size, License: patch.License}
	if patch.Env != nil {
		req.MattermostEnv = EnvFromStrings(patch.Env)
	}
	in, err := p.Client.UpdateInstallation(ctx, id, req)
	return wrap(in, err, false)
}

// HibernateInstallation hibernates an installation.
func (p *Platform) HibernateInstallation(ctx context.Context, id string) (*platform.Installation, error) {
	in, err := p.Client.HibernateInstallation(ctx, id)
	return wrap(in, err, false)
}

// WakeUpInstallation wakes an installation.
func (p *Platform) WakeUpInstallation(ctx context.Context, id string) (*platform.Installation, error) {
	in, err := p.Client.WakeUpInstallation(ctx, id, nil)
	return wrap(in, err, false)
}

// DeleteInstallation deletes an installation. One already on its way out
// (an invalid transition for a delete) counts as deleted.
func (p *Platform) DeleteInstallation(ctx context.Context, id string) error {
	err := p.Client.DeleteInstallation(ctx, id)
	if errors.Is(err, ErrInvalidTransition) {
		return nil
	}
	if errors.Is(err, ErrForbidden) {
		if in, gerr := p.Client.GetInstallation(ctx, id); gerr == nil && in.DeletionLocked {
			return fmt.Errorf("%w: %w", platform.ErrDeletionLocked, err)
		}
	}
	return mapErr(err, false)
}

// CancelDeletion takes back a pending deletion. An installation still
// being moved to deletion-pending (deletion-pending-requested or
// -in-progress) cannot be cancelled yet: the error says so, and the
// reconciler tries again after a backoff.
func (p *Platform) CancelDeletion(ctx context.Context, id string) (*platform.Installation, error) {
	if err := p.Client.CancelInstallationDeletion(ctx, id); err != nil {
		return nil, mapErr(err, false)
	}
	in, err := p.Client.GetInstallation(ctx, id)
	return wrap(in, err, false)
}

func wrap(in *Installation, err error, create bool) (*platform.Installation, error) {
	if err != nil {
		return nil, mapErr(err, create)
	}
	out := fromWire(in)
	return &out, nil
}

// mapErr keeps the client's error and marks the kinds the reconciler acts
// on. Only a create's conflict is a name conflict; elsewhere a 409 means a
// lock is held, which is retried like any other failure.
func mapErr(err error, create bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: %w", platform.ErrNotFound, err)
	case create && errors.Is(err, ErrNameInUse):
		return fmt.Errorf("%w: %w", platform.ErrConflict, err)
	}
	return err
}

func fromWire(in *Installation) platform.Installation {
	return platform.Installation{
		ID:          in.ID,
		Name:        in.Name,
		OwnerID:     in.OwnerID,
		GroupID:     in.Group(),
		State:       in.State,
		Phase:       Classify(in.State),
		Version:     in.Version,
		Image:       in.Image,
		Size:        in.Size,
		License:     in.License,
		Affinity:    in.Affinity,
		Database:    in.Database,
		Filestore:   in.Filestore,
		Env:         in.MattermostEnv.Strings(),
		Annotations: in.AnnotationNames(),
		URL:         in.SiteURL(),
		CreateAt:    in.Created(),

		DeletionLocked: in.DeletionLocked,
	}
}

// Classify is the provider's state classification (platform.Platform).
func (p *Platform) Classify(state string) platform.Phase { return Classify(state) }

// Classify maps a provisioner installation state to envwick's phase. A
// state this table does not know is busy, so a newer provisioner's state
// makes the reconciler wait rather than act.
func Classify(state string) platform.Phase {
	switch state {
	case StateStable:
		return platform.PhaseStable
	case StateHibernating:
		return platform.PhaseHibernated
	case StateCreationRequested, StateCreationPreProvisioning, StateCreationInProgress,
		StateCreationDNS, StateCreationFinalTasks:
		return platform.PhaseCreating
	case StateUpdateRequested, StateUpdateInProgress:
		return platform.PhaseUpdating
	case StateHibernationRequested, StateHibernationInProgress:
		return platform.PhaseHibernating
	case StateWakeUpRequested:
		return platform.PhaseWakingUp
	case StateUpdateFailed:
		return platform.PhaseUpdateFailed
	case StateCreationFailed, StateDeletionFailed, StateCreationNoCompatibleClusters,
		StateDBRestorationFailed, StateDBMigrationFailed:
		return platform.PhaseFailed
	case StateDeletionPendingRequested, StateDeletionPendingInProgress, StateDeletionPending:
		// Kept for the pending window: CancelDeletion can still save it.
		return platform.PhaseDeletionPending
	case StateDeleted, StateDeletionRequested, StateDeletionInProgress, StateDeletionFinalCleanup:
		return platform.PhaseDeleting
	}
	return platform.PhaseWorking
}

// RegisterWebhook points the provisioner's state-change webhooks of
// ownerID at url, sending token in WebhookTokenHeader, and replaces earlier
// registrations of the owner that end the same way (an earlier address of
// this envwick, or an earlier token).
func (p *Platform) RegisterWebhook(ctx context.Context, ownerID, url, token string) error {
	hooks, err := p.Client.ListWebhooks(ctx, ownerID, false)
	if err != nil {
		return fmt.Errorf("listing webhooks: %w", err)
	}
	for _, h := range hooks {
		if strings.HasSuffix(h.URL, webhookPath(url)) {
			if err := p.Client.DeleteWebhook(ctx, h.ID); err != nil {
				return fmt.Errorf("deleting webhook %s: %w", h.ID, err)
			}
		}
	}
	hdr := []WebhookHeader{{Key: WebhookTokenHeader, Value: &token}}
	if _, err := p.Client.CreateWebhook(ctx, CreateWebhookRequest{OwnerID: ownerID, URL: url, Headers: hdr}); err != nil {
		return fmt.Errorf("creating webhook: %w", err)
	}
	return nil
}

// webhookPath is the path of a webhook URL (what stays the same when the
// host or port changes between runs).
func webhookPath(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
	}
	if i := strings.IndexByte(url, '/'); i >= 0 {
		return url[i:]
	}
	return "/"
}
