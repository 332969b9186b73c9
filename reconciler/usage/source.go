// Package usage asks running installations how they are used, for
// housekeeping: the time of each one's last post and its active users,
// through the Mattermost REST API with the admin account envwick created
// on it (kept in Credentials), and, when configured, a Prometheus-compatible
// query. A Source sweeps every running installation once per interval
// (default 1 h) with bounded concurrency and caches what each answered;
// the reconciler reads the cache (reconciler.UsageSource) and never waits
// for an installation.
package usage

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/envwick/envwick/reconciler"
)

// Source is the usage source. Set the fields before Run or Sweep.
type Source struct {
	// Credentials holds the admin account of each environment's
	// installation; an installation without one is asked only through
	// Prometheus, if that is configured.
	Credentials *Credentials
	// Prometheus, when set, is asked too.
	Prometheus *Prometheus
	// Targets lists the installations to ask (the reconciler's Running).
	Targets func() []reconciler.RunningInstallation
	// Interval between sweeps (default 1 h); StartDelay before the first
	// (default 30 s, so the reconciler has made a pass).
	Interval   time.Duration
	StartDelay time.Duration
	// Concurrency bounds the installations asked at once (default 4);
	// Timeout bounds asking one (default 30 s).
	Concurrency int
	Timeout     time.Duration
	HTTPClient  *http.Client
	// Now is the clock answers are stamped with (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger

	mu    sync.Mutex
	cache map[string]reconciler.Usage
}

var _ reconciler.UsageSource = (*Source)(nil)

// errNotAsked stands for an installation that has credentials but was not
// asked yet: not idle until it has answered.
var errNotAsked = errors.New("not asked yet")

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Usage returns what the installation of name answered at the last sweep.
// An environment whose installation has credentials but was not asked yet
// is reported as not asked (so not idle); one the source cannot ask at all
// is unknown.
func (s *Source) Usage(name string) (reconciler.Usage, bool) {
	s.mu.Lock()
	u, ok := s.cache[name]
	s.mu.Unlock()
	if ok {
		return u, true
	}
	if s.Credentials != nil {
		if cr, ok := s.Credentials.Get(name); ok {
			return reconciler.Usage{InstallationID: cr.InstallationID, Err: errNotAsked}, true
		}
	}
	return reconciler.Usage{}, false
}

// Run sweeps every Interval until ctx ends.
func (s *Source) Run(ctx context.Context) {
	wait := s.StartDelay
	if wait <= 0 {
		wait = 30 * time.Second
	}
	interval := s.Interval
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.Sweep(ctx)
		t.Reset(interval)
	}
}

// Sweep asks every target once, at most Concurrency at a time, and
// replaces the cache with the answers. A target it has no way to ask is
// left out (unknown to the reconciler).
func (s *Source) Sweep(ctx context.Context) {
	conc := s.Concurrency
	if conc <= 0 {
		conc = 4
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	next := map[string]reconciler.Usage{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(conc)
	for _, t := range s.Targets() {
		var cr *Credential
		if s.Credentials != nil {
			if c, ok := s.Credentials.Get(t.Name); ok && c.InstallationID == t.InstallationID {
				cr = &c
			}
		}
		if cr == nil && s.Prometheus == nil {
			continue
		}
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			u := s.ask(ctx, t, cr)
			if u.Err != nil {
				s.logger().WarnContext(ctx, "installation usage unknown: it is not counted as idle", "environment", t.Name, "installation", t.InstallationID, "error", u.Err)
			}
			mu.Lock()
			next[t.Name] = u
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // every goroutine returns nil: an unanswered installation is recorded, not an error
	s.mu.Lock()
	s.cache = next
	s.mu.Unlock()
}

// ask makes the one call per sweep to an installation: its REST API when
// it has credentials, and the Prometheus query when configured. The
// latest post either knows of wins; the REST API's active users win.
func (s *Source) ask(ctx context.Context, t reconciler.RunningInstallation, cr *Credential) reconciler.Usage {
	u := reconciler.Usage{InstallationID: t.InstallationID, CheckedAt: s.now()}
	var errs []error
	if cr != nil {
		last, users, err := askMattermost(ctx, s.HTTPClient, t.URL, *cr)
		if err != nil {
			errs = append(errs, err)
		}
		u.LastPost, u.ActiveUsers = last, users
	}
	if s.Prometheus != nil {
		posted, err := s.Prometheus.Posted(ctx, t)
		switch {
		case err != nil:
			errs = append(errs, err)
		case posted && u.CheckedAt.After(u.LastPost):
			// Posts since the last sweep: used now, as far as anyone knows.
			u.LastPost = u.CheckedAt
		}
	}
	u.Err = errors.Join(errs...)
	return u
}
