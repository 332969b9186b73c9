// Package image resolves container image tags to digests in their
// registries through the OCI distribution API
// (github.com/google/go-containerregistry), for the reconciler's wait for a
// pull request's image: anonymous, or with credentials configured per
// registry, or those of a Docker config file.
package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/envwick/envwick/reconciler"
)

// Registry resolves references (repository:tag) to digests.
type Registry struct {
	// Insecure names registries (host[:port]) reached over plain HTTP,
	// such as one on loopback.
	Insecure []string
	// Auth holds credentials by registry host (index.docker.io for Docker
	// Hub); a registry not named uses Keychain, else anonymous access.
	Auth map[string]authn.Basic
	// Keychain, when set, is asked for registries not in Auth (for
	// example authn.DefaultKeychain, the Docker config file).
	Keychain authn.Keychain
	// Transport, when set, makes the HTTP requests.
	Transport http.RoundTripper
}

var _ reconciler.ImageResolver = (*Registry)(nil)

// Resolve returns the digest ref points at. A tag or repository the
// registry does not have is reconciler.ErrImageNotFound; anything else
// (the registry unreachable, refused credentials) is another error.
func (r *Registry) Resolve(ctx context.Context, ref string) (string, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	if slices.Contains(r.Insecure, parsed.Context().RegistryStr()) {
		if parsed, err = name.ParseReference(ref, name.Insecure); err != nil {
			return "", fmt.Errorf("image %s: %w", ref, err)
		}
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(r.authFor(parsed.Context().Registry))}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	desc, err := remote.Head(parsed, opts...)
	if err != nil && !notFound(err) {
		// Some registries answer HEAD badly; GET says the same with a body.
		if got, gerr := remote.Get(parsed, opts...); gerr == nil {
			return got.Digest.String(), nil
		} else if notFound(gerr) {
			err = gerr
		}
	}
	switch {
	case notFound(err):
		return "", fmt.Errorf("image %s: %w", ref, reconciler.ErrImageNotFound)
	case err != nil:
		return "", fmt.Errorf("resolving image %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}

func (r *Registry) authFor(reg name.Registry) authn.Authenticator {
	if b, ok := r.Auth[reg.RegistryStr()]; ok {
		return &b
	}
	if r.Keychain != nil {
		if a, err := r.Keychain.Resolve(reg); err == nil {
			return a
		}
	}
	return authn.Anonymous
}

// notFound reports a missing tag (404, no body on HEAD) or repository
// (MANIFEST_UNKNOWN or NAME_UNKNOWN, as registries differ).
func notFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
