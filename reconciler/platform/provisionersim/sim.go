// Package provisionersim is the embedded provisioner simulator: it serves
// the Mattermost Cloud provisioner's REST API (v0.92) on loopback and
// behaves like the platform behind it. Installations move through the
// provisioner's state machine asynchronously with configurable durations,
// requests are refused the way the real server refuses them, names stay
// reserved after deletion, webhooks fire on every state change, faults can
// be injected, and state survives restarts in a data directory.
//
// It is envwick's default platform (envwick dev, envwick provisioner-sim)
// and the target of the reconciler's tests and benchmarks. The contract
// suite in reconciler/platform/provisioner/contract holds it to the real server.
package provisionersim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// Options configure a simulator. The zero value is a working in-memory
// simulator with the default timing.
type Options struct {
	// DataDir, when set, keeps the state in DataDir/provisioner-sim.json so
	// that it survives a restart.
	DataDir string
	// Timing sets how long installations spend in each phase (nil:
	// DefaultTiming).
	Timing *Timing
	// DisableSupervisors stops all automatic progression, like the real
	// server's --disable-all-supervisors: states change only through the API
	// and SetState.
	DisableSupervisors bool
	// Rules are the server settings that change what a create may ask for
	// (the operator-hosted database and filestore are refused by default,
	// as by the real server).
	Rules provisioner.ServerRules
	// DeletionPendingTime is how long a deleted installation stays in
	// deletion-pending before it is really deleted (default 3m, the
	// provisioner's default).
	DeletionPendingTime time.Duration
	// NameReservation is how long a deleted installation's name stays
	// reserved: creating another installation with it is refused with 409
	// (default 24h; negative disables).
	NameReservation time.Duration
	// InstallationURL, when set, is the URL of every installation (for
	// example a local Mattermost server standing in for all of them);
	// otherwise an installation's URL is https://<its DNS name>.
	InstallationURL string
	// Environment is the "Environment" field of webhook extra data
	// (default "dev").
	Environment string
	// APIKey, when set, is required in the x-api-key header of API calls.
	APIKey string
	// Faults are the initial injected faults (see SetFaults).
	Faults Faults
	// Exec runs cluster installation exec commands (mmctl, mattermost).
	// Nil answers every command with empty output. Every command is also
	// recorded (see ExecLog).
	Exec func(ctx context.Context, inst provisioner.Installation, command string, args []string) ([]byte, error)
	// Licenses, when set, are the license texts the simulator accepts: a
	// create or update with any other license is refused with 400 (see
	// licenseAccepted). Empty accepts any text.
	Licenses []string
	// Now is the base clock (default time.Now); Advance moves the
	// simulator's clock ahead of it.
	Now func() time.Time
	// FlushInterval is how often changed state is written to DataDir
	// (default 1s); Close always writes it.
	FlushInterval time.Duration
	// Logger (default: discard).
	Logger *slog.Logger
}

// Timing is how long each phase takes, spread evenly over the phase's
// intermediate states. Zero durations make a phase complete at the next
// processing tick.
type Timing struct {
	// Creation: creation-requested, -pre-provisioning, -in-progress,
	// -final-tasks, then stable.
	Creation time.Duration
	// Update: update-requested, update-in-progress, then stable.
	Update time.Duration
	// Hibernation: hibernation-requested, -in-progress, then hibernating.
	Hibernation time.Duration
	// WakeUp: wake-up-requested (or deletion-cancellation-requested),
	// update-in-progress, then stable.
	WakeUp time.Duration
	// DeletionPendingPrep: deletion-pending-requested, -in-progress, then
	// deletion-pending (which then lasts DeletionPendingTime).
	DeletionPendingPrep time.Duration
	// Deletion: deletion-requested, -in-progress, -final-cleanup, deleted.
	Deletion time.Duration
}

// DefaultTiming is a few seconds per phase: slow enough to watch, fast
// enough for a demo.
func DefaultTiming() Timing {
	return Timing{
		Creation:            4 * time.Second,
		Update:              2 * time.Second,
		Hibernation:         2 * time.Second,
		WakeUp:              2 * time.Second,
		DeletionPendingPrep: time.Second,
		Deletion:            2 * time.Second,
	}
}

// Faults are injected into API calls (the /api routes; admin routes are
// never faulted). They can be changed at runtime with SetFaults or
// PUT /_sim/faults.
type Faults struct {
	// ErrorRate is the fraction (0..1) of API calls answered ErrorStatus.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ErrorStatus is the status of injected errors (default 503).
	ErrorStatus int `json:"errorStatus,omitempty"`
	// Latency is added to every API call.
	Latency Duration `json:"latency,omitempty"`
	// Outages are windows (on the simulator's clock) in which every API
	// call is answered 503 with a Retry-After up to the window's end.
	Outages []Outage `json:"outages,omitempty"`
	// CreationFailureRate is the fraction of creations that end in
	// creation-failed; UpdateFailureRate likewise for update-failed.
	CreationFailureRate float64 `json:"creationFailureRate,omitempty"`
	UpdateFailureRate   float64 `json:"updateFailureRate,omitempty"`
}

// Outage is a window in which the API is down.
type Outage struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Sim is a running simulator.
type Sim struct {
	opts   Options
	timing Timing
	log    *slog.Logger

	mu     sync.RWMutex
	offset time.Duration // Advance
	st     *store
	faults Faults
	dirty  bool

	hooks   *webhookDispatcher
	handler http.Handler
	// pages holds list answer buffers for reuse (a page of 500 is half a
	// megabyte).
	pages sync.Pool

	wake    chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
	srvMu   sync.Mutex
	srv     *http.Server
	url     string
	closeMu sync.Once
}

// New creates a simulator, loading its state from DataDir when there is
// one, and starts its background work (progression, persistence, webhook
// delivery). Close stops it.
func New(opts Options) (*Sim, error) {
	timing := DefaultTiming()
	if opts.Timing != nil {
		timing = *opts.Timing
	}
	if opts.DeletionPendingTime == 0 {
		opts.DeletionPendingTime = 3 * time.Minute
	}
	if opts.NameReservation == 0 {
		opts.NameReservation = 24 * time.Hour
	}
	if opts.Environment == "" {
		opts.Environment = "dev"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		opts: opts, timing: timing, log: opts.Logger,
		st: newStore(), faults: normalizeFaults(opts.Faults),
		wake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	s.hooks = newWebhookDispatcher(s.log)
	if opts.DataDir != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	s.handler = s.routes()
	s.done.Add(1)
	go s.loop()
	return s, nil
}

// Handler serves the provisioner API under /api and the simulator's admin
// routes under /_sim.
func (s *Sim) Handler() http.Handler { return s.handler }

// Start serves the simulator on addr (e.g. 127.0.0.1:0) and returns its
// base URL.
func (s *Sim) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("provisioner simulator listening on %s: %w", addr, err)
	}
	return s.Serve(ln), nil
}

// Serve serves the simulator on ln and returns its base URL.
func (s *Sim) Serve(ln net.Listener) string {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.srvMu.Lock()
	s.srv = srv
	s.url = "http://" + ln.Addr().String()
	s.srvMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("provisioner simulator stopped serving", "error", err)
		}
	}()
	return s.url
}

// URL is the base URL given by Start or Serve ("" before).
func (s *Sim) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.url
}

// Close stops serving and background work and writes the state to
// DataDir.
func (s *Sim) Close() error {
	var err error
	s.closeMu.Do(func() {
		s.srvMu.Lock()
		srv := s.srv
		s.srvMu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if e := srv.Shutdown(ctx); e != nil {
				srv.Close()
			}
		}
		close(s.stop)
		s.done.Wait()
		s.hooks.close()
		err = s.flush()
	})
	return err
}

// Now is the simulator's clock: the base clock plus everything Advance
// added.
func (s *Sim) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nowLocked()
}

func (s *Sim) nowLocked() time.Time { return s.opts.Now().Add(s.offset) }

// Advance moves the simulator's clock forward by d and runs every
// transition that has come due, so tests never sleep.
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.processLocked()
	s.mu.Unlock()
}

// Process runs every transition due now (the background loop does this
// too; tests call it to avoid waiting for the loop).
func (s *Sim) Process() {
	s.mu.Lock()
	s.processLocked()
	s.mu.Unlock()
}

// Faults returns the injected faults.
func (s *Sim) Faults() Faults {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.faults
}

// SetFaults replaces the injected faults.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = normalizeFaults(f)
	s.mu.Unlock()
}

func normalizeFaults(f Faults) Faults {
	if f.ErrorStatus == 0 {
		f.ErrorStatus = http.StatusServiceUnavailable
	}
	return f
}

// SetState forces an installation into a state, as a test would with SQL
// on the real provisioner's database. Progression continues from there
// unless supervisors are disabled. Reaching "deleted" marks the
// installation deleted.
func (s *Sim) SetState(id, state string) error {
	if !slicesContains(provisioner.AllStates, state) {
		return fmt.Errorf("unknown installation state %q", state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.byID[id]
	if in == nil {
		return fmt.Errorf("installation %s: %w", id, provisioner.ErrNotFound)
	}
	s.enterLocked(in, state, s.nowLocked(), nil)
	return nil
}

// Installation returns a copy of an installation as the API would.
func (s *Sim) Installation(id string) (provisioner.Installation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	in := s.st.byID[id]
	if in == nil {
		return provisioner.Installation{}, false
	}
	return cloneInstallation(&in.Installation), true
}

// ExecLog returns the exec commands run in an installation, each as the
// command followed by its arguments.
func (s *Sim) ExecLog(installationID string) [][]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out [][]string
	for _, e := range s.st.execLog[installationID] {
		out = append(out, append([]string(nil), e...))
	}
	return out
}
