package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/bots/mattermost"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/usage"
)

// usageConfig configures the usage source of serve and dev: installations
// asked for their last post and active users, so idle means nobody uses
// the environment (docs/operations.md, Housekeeping on real usage).
type usageConfig struct {
	Interval        time.Duration
	Concurrency     int
	MaxUsers        int
	PrometheusURL   string
	PrometheusQuery string
	Off             bool
}

func (c *usageConfig) addFlags(fs *pflag.FlagSet) {
	durationVar(fs, &c.Interval, "usage-interval", envDuration("usage-interval", time.Hour), "time between sweeps asking every running installation for its usage ["+envName("usage-interval")+"]")
	fs.IntVar(&c.Concurrency, "usage-concurrency", envInt("usage-concurrency", 4), "installations asked at once in a sweep ["+envName("usage-concurrency")+"]")
	fs.IntVar(&c.MaxUsers, "max-users", envInt("max-users", 100), "installations with more active users are never hibernated for idleness ["+envName("max-users")+"]")
	fs.StringVar(&c.PrometheusURL, "usage-prometheus-url", envString("usage-prometheus-url", ""), "Prometheus-compatible API asked whether installations had posts (optional) ["+envName("usage-prometheus-url")+"]")
	fs.StringVar(&c.PrometheusQuery, "usage-prometheus-query", envString("usage-prometheus-query", usage.DefaultPrometheusQuery), "query counting an installation's posts since the last sweep; {{installation}} and {{name}} are replaced ["+envName("usage-prometheus-query")+"]")
	fs.BoolVar(&c.Off, "no-usage", envBool("no-usage", false), "do not ask installations for their usage ["+envName("no-usage")+"]")
}

// build opens the credentials the chat bot keeps and the source asking
// with them; both nil when the source is off.
func (c *usageConfig) build(dataDir string, targets func() []reconciler.RunningInstallation) (*usage.Source, error) {
	if c == nil || c.Off {
		return nil, nil
	}
	creds, err := usage.OpenCredentials(filepath.Join(dataDir, "usage", "credentials.json"))
	if err != nil {
		return nil, err
	}
	src := &usage.Source{Credentials: creds, Targets: targets, Interval: c.Interval, Concurrency: c.Concurrency}
	if c.PrometheusURL != "" {
		src.Prometheus = &usage.Prometheus{URL: c.PrometheusURL, Query: c.PrometheusQuery}
	}
	return src, nil
}

// usageSource is s as the reconciler takes it: nil (not a nil pointer in
// an interface) when the source is off.
func usageSource(s *usage.Source) reconciler.UsageSource {
	if s == nil {
		return nil
	}
	return s
}

// runUsage sweeps until ctx ends, when the source is on.
func (s *System) runUsage(ctx context.Context) {
	if s.Usage == nil {
		return
	}
	s.Usage.Logger = s.Logger.With("component", "usage")
	go s.Usage.Run(ctx)
}

// credentialKeeper is where the chat bot keeps the admin accounts it
// creates: the usage source's credentials, or nowhere when it is off.
func credentialKeeper(s *System) mattermost.CredentialKeeper {
	if s.Usage == nil {
		return nil
	}
	return s.Usage.Credentials
}
