package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// platformProvider opens one kind of platform for the system. open returns
// the platform and a function releasing what it started (nil when there is
// nothing to release).
type platformProvider struct {
	help string
	open func(ctx context.Context, c *systemConfig, s *System) (platform.Platform, func() error, error)
}

// platformProviders lists the platforms envwick can drive, by the name
// --platform takes. Adding a platform is a folder under reconciler/platform
// and one entry here.
func platformProviders() map[string]platformProvider {
	return map[string]platformProvider{
		"provisioner": {
			help: "the Mattermost Cloud provisioner REST API at --provisioner-url",
			open: openProvisioner,
		},
		"provisionersim": {
			help: "the bundled provisioner simulator, run inside this process (state in the data dir)",
			open: openProvisionerSim,
		},
	}
}

// platformNames is the registry's names, sorted, for help and errors.
func platformNames() string {
	names := make([]string, 0, len(platformProviders()))
	for name := range platformProviders() {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// openPlatform opens the platform c.Platform names.
func openPlatform(ctx context.Context, c *systemConfig, s *System) (platform.Platform, func() error, error) {
	p, ok := platformProviders()[c.Platform]
	if !ok {
		return nil, nil, fmt.Errorf("--platform %q: use one of %s", c.Platform, platformNames())
	}
	return p.open(ctx, c, s)
}

// openProvisioner is a client of a provisioner API server: the one
// --provisioner-url names, or the simulator of a running 'envwick dev'.
func openProvisioner(_ context.Context, c *systemConfig, s *System) (platform.Platform, func() error, error) {
	url := c.ProvisionerURL
	if url == "" {
		b, err := os.ReadFile(devProvisionerFile(c.DataDir))
		if err != nil {
			return nil, nil, errors.New("no provisioner: set --provisioner-url (ENVWICK_PROVISIONER_URL), or start 'envwick dev' first")
		}
		url = strings.TrimSpace(string(b))
	}
	return provisionerAt(c, s, url)
}

// openProvisionerSim starts the simulator on loopback, keeping its state
// in the data dir, and drives it through the provisioner client, so the
// requests are the same as against the real provisioner.
func openProvisionerSim(_ context.Context, c *systemConfig, s *System) (platform.Platform, func() error, error) {
	sim, err := provisionersim.New(provisionersim.Options{
		DataDir:  filepath.Join(c.DataDir, "provisioner-sim"),
		Logger:   s.Logger.With("component", "provisioner-sim"),
		Licenses: licenseTexts(s.Licenses),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the provisioner simulator: %w", err)
	}
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		sim.Close()
		return nil, nil, fmt.Errorf("starting the provisioner simulator: %w", err)
	}
	p, _, err := provisionerAt(c, s, url)
	if err != nil {
		sim.Close()
		return nil, nil, err
	}
	return p, sim.Close, nil
}

func provisionerAt(c *systemConfig, s *System, url string) (platform.Platform, func() error, error) {
	apiKey, err := secret("ENVWICK_PROVISIONER_API_KEY", c.ProvisionerAPIKeyFile)
	if err != nil {
		return nil, nil, err
	}
	client, err := provisioner.New(provisioner.Options{URL: url, APIKey: apiKey, Observer: s.Metrics, Logger: s.Logger.With("component", "provisioner")})
	if err != nil {
		return nil, nil, err
	}
	return &provisioner.Platform{Client: client, Domain: c.Domain, PageSize: c.PageSize}, nil, nil
}

// webhookPlatform is a platform that calls envwick back on state changes
// (the provisioner's webhooks): envwick serves its handler at
// /webhooks/provisioner and registers that URL with it.
type webhookPlatform interface {
	RegisterWebhook(ctx context.Context, ownerID, url, token string) error
	WebhookHandler(trigger interface{ Trigger(reason string) }, log *slog.Logger, token string) http.Handler
}
