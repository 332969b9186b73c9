package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/envwick/envwick/reconciler/provisioner"
)

// ProvisionerPlatform adapts the provisioner REST client to Platform.
type ProvisionerPlatform struct {
	Client *provisioner.Client
	// Domain is appended to an installation name to make its DNS name
	// (the provisioner requires one that starts with the name).
	Domain string
	// PageSize is the list page size (default provisioner.DefaultPageSize).
	PageSize int
}

var _ Platform = (*ProvisionerPlatform)(nil)

// ListInstallations pages through installations.
func (p *ProvisionerPlatform) ListInstallations(ctx context.Context, f ListFilter, fn func([]Installation) error) error {
	opts := provisioner.ListOptions{PerPage: p.PageSize, OwnerID: f.OwnerID, GroupID: f.GroupID, Name: f.Name, IncludeDeleted: f.IncludeDeleted}
	var buf []Installation
	return mapErr(p.Client.ListInstallationPages(ctx, opts, func(page []*provisioner.Installation) error {
		buf = buf[:0]
		for _, in := range page {
			buf = append(buf, fromWire(in))
		}
		return fn(buf)
	}), false)
}

// GetInstallation returns one installation.
func (p *ProvisionerPlatform) GetInstallation(ctx context.Context, id string) (*Installation, error) {
	in, err := p.Client.GetInstallation(ctx, id)
	return wrap(in, err, false)
}

// CreateInstallation creates an installation named r.Name at r.Name.Domain.
func (p *ProvisionerPlatform) CreateInstallation(ctx context.Context, r InstallationRequest) (*Installation, error) {
	req := provisioner.CreateInstallationRequest{
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
		MattermostEnv: provisioner.EnvFromStrings(r.Env),
		Annotations:   r.Annotations,
	}
	in, err := p.Client.CreateInstallation(ctx, req)
	return wrap(in, err, true)
}

// UpdateInstallation patches an installation. patch.Env is sent as the
// provisioner's MattermostEnv patch, which merges: an env var with an empty
// value goes out without a value and removes that variable, an empty map
// clears them all (see InstallationPatch.Env).
func (p *ProvisionerPlatform) UpdateInstallation(ctx context.Context, id string, patch InstallationPatch) (*Installation, error) {
	req := provisioner.PatchInstallationRequest{Version: patch.Version, Image: patch.Image, Size: patch.Size, License: patch.License}
	if patch.Env != nil {
		req.MattermostEnv = provisioner.EnvFromStrings(patch.Env)
	}
	in, err := p.Client.UpdateInstallation(ctx, id, req)
	return wrap(in, err, false)
}

// HibernateInstallation hibernates an installation.
func (p *ProvisionerPlatform) HibernateInstallation(ctx context.Context, id string) (*Installation, error) {
	in, err := p.Client.HibernateInstallation(ctx, id)
	return wrap(in, err, false)
}

// WakeUpInstallation wakes an installation.
func (p *ProvisionerPlatform) WakeUpInstallation(ctx context.Context, id string) (*Installation, error) {
	in, err := p.Client.WakeUpInstallation(ctx, id, nil)
	return wrap(in, err, false)
}

// DeleteInstallation deletes an installation. One already on its way out
// (an invalid transition for a delete) counts as deleted.
func (p *ProvisionerPlatform) DeleteInstallation(ctx context.Context, id string) error {
	err := p.Client.DeleteInstallation(ctx, id)
	if errors.Is(err, provisioner.ErrInvalidTransition) {
		return nil
	}
	return mapErr(err, false)
}

func wrap(in *provisioner.Installation, err error, create bool) (*Installation, error) {
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
	case errors.Is(err, provisioner.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case create && errors.Is(err, provisioner.ErrNameInUse):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

func fromWire(in *provisioner.Installation) Installation {
	return Installation{
		ID:          in.ID,
		Name:        in.Name,
		OwnerID:     in.OwnerID,
		GroupID:     in.Group(),
		State:       in.State,
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
	}
}
