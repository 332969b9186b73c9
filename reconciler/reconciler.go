// Package reconciler makes the platform match the envs repository. One pass
// loads the environments at a commit, observes the installations this
// envwick owns, plans what to change, applies it safely and records status
// on a branch of its own. Housekeeping (idle hibernation, expiry) is decided
// here too, and committed to git like any other change.
package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// Config configures a Reconciler. Zero values take the documented defaults.
type Config struct {
	// Owner marks the installations this envwick may change. Required.
	Owner Owner
	// Defaults are applied to every environment, through envs.WithDefaults
	// only (default envs.DefaultDefaults()).
	Defaults envs.Defaults
	// Guard is the mass-deletion guard.
	Guard GuardPolicy
	// Housekeeping bounds idle and hibernated environments.
	Housekeeping HousekeepingPolicy
	// Concurrency is how many provisioner changes run at once (default 10).
	Concurrency int
	// RequestRate is the most provisioner requests per second the apply
	// step makes (default 150), with bursts of RequestBurst (default 10).
	RequestRate  float64
	RequestBurst int
	// BackoffBase and BackoffMax bound the per-environment exponential
	// backoff after a failed change (defaults 2 s and 5 min), with full
	// jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// StatusInterval is the shortest time between two status commits
	// touching one environment (0: none). A change within it waits on the
	// status branch (never in memory: StatusOf and notices see it at once)
	// until the interval has passed and a pass writes it; an environment's
	// first status and its removal are written at once.
	StatusInterval time.Duration

	// Housekeeper commits housekeeping decisions. Without one (a reconciler
	// that only plans), a pass with housekeeping due fails saying so.
	Housekeeper Housekeeper

	Logger   *slog.Logger
	Clock    Clock
	Notifier Notifier
	Activity ActivitySource
	// Usage, when set, reports each installation's own usage: its last
	// post counts as activity, and an installation it could not ask, or
	// with more than MaxUsers active users (default 100), is kept from
	// idle hibernation.
	Usage    UsageSource
	MaxUsers int
	// Images, when set, resolves each environment's image before a
	// create or an update (see images.go); a missing tag waits up to
	// ImageDeadline (default 30 min), and a found one is looked up again
	// after ImageRecheck (default 5 min) to notice a moved tag.
	Images        ImageResolver
	ImageDeadline time.Duration
	ImageRecheck  time.Duration
	Metrics       Metrics
	// TestDataTimeout bounds one load of sample data (default 15 min);
	// OnTestData, when set, is called as a load ends, so a pass can
	// record it at once (the runner's trigger).
	TestDataTimeout time.Duration
	OnTestData      func(environment string)
	// Licenses, when set, resolves license names to texts (see
	// LicenseTexts); without it names go to the platform as they are.
	Licenses LicenseTexts
}

func (c *Config) setDefaults() {
	if c.Defaults == (envs.Defaults{}) {
		c.Defaults = envs.DefaultDefaults()
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.RequestRate <= 0 {
		c.RequestRate = 150
	}
	if c.RequestBurst <= 0 {
		c.RequestBurst = 10
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 2 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.TestDataTimeout <= 0 {
		c.TestDataTimeout = defaultTestDataTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Notifier == nil {
		c.Notifier = LogNotifier{Logger: c.Logger}
	}
	if c.Metrics == nil {
		c.Metrics = noMetrics{}
	}
	if c.ImageDeadline <= 0 {
		c.ImageDeadline = 30 * time.Minute
	}
	if c.ImageRecheck <= 0 {
		c.ImageRecheck = 5 * time.Minute
	}
	if c.MaxUsers <= 0 {
		c.MaxUsers = 100
	}
	if c.Usage != nil {
		c.Activity = usageActivity{bots: c.Activity, usage: c.Usage}
	}
	c.Housekeeping.setDefaults()
}

// Reconciler runs passes. Only one pass runs at a time.
type Reconciler struct {
	cfg  Config
	repo Repository
	ext  *external

	mu sync.Mutex // held for a whole pass
	// status is the status branch as last read or written; nil until the
	// first pass reads it.
	status map[string]*Status
	// written holds statusDigest of each status as on the status branch,
	// writtenAt when this process wrote it, and held the environments whose
	// status differs from what is written, held back by StatusInterval.
	written   map[string]digest
	writtenAt map[string]time.Time
	held      map[string]bool
	// memo remembers how each status was last computed (see recordMemo).
	memo map[string]recordMemo
	// defaulted caches environments with defaults applied, by file blob.
	defaulted map[string]*envs.Environment
	backoff   map[string]backoffState
	rand      *rand.Rand
	// loaded is what loadDesired returned for loadedCommit.
	loaded       map[string]*Desired
	loadedCommit string
	// lastBlobs are the environment files of the last pass that recorded
	// status; lastFull and lastOwned are when the last full pass ran and
	// how many installations it found owned.
	lastBlobs map[string]string
	lastFull  time.Time
	lastOwned int
	// images caches image resolutions by reference; digested caches the
	// environments given their digest variable (images.go).
	images   map[string]*imageCheck
	digested map[string]digestedEnv
	// testData holds the sample-data loads in flight (capabilities.go).
	testData testDataJobs
}

type backoffState struct {
	failures int
	until    time.Time
}

// New returns a Reconciler over the envs repository and the platform.
func New(repo Repository, p platform.Platform, cfg Config) (*Reconciler, error) {
	cfg.setDefaults()
	if err := cfg.Owner.validate(); err != nil {
		return nil, err
	}
	return &Reconciler{
		cfg:  cfg,
		repo: repo,
		ext: &external{
			platform: p,
			owner:    cfg.Owner,
			limiter:  rate.NewLimiter(rate.Limit(cfg.RequestRate), cfg.RequestBurst),
			metrics:  cfg.Metrics,
			licenses: cfg.Licenses,
		},
		defaulted: map[string]*envs.Environment{},
		backoff:   map[string]backoffState{},
		writtenAt: map[string]time.Time{},
		held:      map[string]bool{},
		memo:      map[string]recordMemo{},
		rand:      rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}, nil
}

// PassOptions change one pass.
type PassOptions struct {
	// DryRun observes and plans without changing anything: no provisioner
	// changes, no status or housekeeping commits, no notifications.
	DryRun bool
	// AllowMassDeletion overrides the mass-deletion guard for this pass.
	AllowMassDeletion bool
	// Incremental lets the pass observe and plan only the environments
	// whose files changed since the last pass, when that is safe (see
	// scope). Runners set it for commit and push triggers.
	Incremental bool
}

// Result is what one pass did.
type Result struct {
	Plan *Plan
	// Errors holds the failed changes by environment name.
	Errors map[string]error
	// StatusWritten reports whether a status commit was made.
	StatusWritten bool
	// Housekept counts the housekeeping commits made.
	Housekept int
	// ListRequests is the number of list pages read while observing.
	ListRequests int
	// Incremental is set when only the environments changed by the new
	// commits were observed and planned.
	Incremental bool
}

// Pass runs one pass: load desired, observe actual, plan, apply, record
// status, housekeep. It reads top to bottom; each step is one call.
func (r *Reconciler) Pass(ctx context.Context, opts PassOptions) (res *Result, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := r.cfg.Clock.Now()
	began := time.Now()
	defer func() { r.cfg.Metrics.PassDone(time.Since(began), err) }()

	// 1. Load desired: every environment file at the head commit.
	commit, err := r.repo.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the envs repository head: %w", err)
	}
	desired, err := r.loadDesired(ctx, commit)
	if err != nil {
		return nil, err
	}
	guard, err := r.massDeletionOverride(ctx, commit, opts)
	if err != nil {
		return nil, err
	}

	// 2. Observe actual: the installations this envwick owns, and what was
	// recorded last time. After a commit that changed a few environment
	// files, only those are observed (see scope).
	if err := r.loadStatus(ctx); err != nil {
		return nil, err
	}
	scope := r.scope(desired, opts)
	var actual *observed
	if scope != nil {
		actual, err = r.ext.ObserveSome(ctx, scope, r.status)
	} else {
		actual, err = r.ext.Observe(ctx)
	}
	if err != nil {
		return nil, err
	}
	if actual.untagged > 0 {
		r.cfg.Logger.WarnContext(ctx, "owned installations without an environment identity are left alone",
			"count", actual.untagged, "identity", IdentityEnvVar)
	}

	// 3. Plan.
	in := planInput{commit: commit, desired: desired, actual: actual.byEnv, pending: actual.pending, status: r.status, guard: guard}
	if scope != nil {
		in.desired, in.owned = subset(desired, scope), r.lastOwned
	}
	images := r.checkImages(ctx, in.desired, actual.byEnv, start)
	p := plan(in)
	p.Invalid = invalidFiles(desired) // across all files, whatever the scope
	holdForImages(p, images)
	res = &Result{Plan: p, Errors: map[string]error{}, ListRequests: actual.pages, Incremental: scope != nil}
	if p.Guard != "" {
		r.cfg.Logger.WarnContext(ctx, "mass-deletion guard is holding deletions back", "reason", p.Guard)
	}
	r.cfg.Metrics.Guard(p.Guard != "")
	r.cfg.Metrics.InvalidFiles(len(p.Invalid))

	// 4. Apply (skipped on a dry run), then work out the new status and
	// the housekeeping due.
	var outcomes map[string]outcome
	if !opts.DryRun {
		outcomes = r.apply(ctx, p, desired, start)
	}
	next, transitions, due := r.record(ctx, p, desired, outcomes, start)
	if !opts.DryRun {
		r.platformExtras(ctx, p, desired, next, start)
	}
	p.Housekeeping = due
	if scope != nil {
		// Everything outside the scope keeps its recorded status.
		merged := maps.Clone(r.status)
		for name := range scope {
			delete(merged, name)
		}
		maps.Copy(merged, next)
		next = merged
	}
	for name, o := range outcomes {
		if o.err != nil {
			res.Errors[name] = o.err
		}
	}
	r.countEnvironments(next)
	if opts.DryRun {
		return res, nil
	}

	// 5. Record status: one commit for everything that changed.
	if res.StatusWritten, err = r.writeStatus(ctx, commit, next, start); err != nil {
		return res, err
	}
	r.rememberBlobs(desired)
	if scope == nil {
		r.lastOwned, r.lastFull = p.Owned, start
	}

	// 6. Tell people, then housekeep through git.
	for _, t := range transitions {
		r.cfg.Notifier.Notify(ctx, t)
	}
	for _, h := range due {
		if err := r.housekeep(ctx, h); err != nil {
			return res, fmt.Errorf("housekeeping %s: %w", h.Name, err)
		}
		r.cfg.Logger.InfoContext(ctx, "housekeeping committed", "environment", h.Name, "action", string(h.Action), "reason", h.Reason)
		res.Housekept++
	}
	return res, nil
}

// Plan observes and plans without changing anything.
func (r *Reconciler) Plan(ctx context.Context) (*Plan, error) {
	res, err := r.Pass(ctx, PassOptions{DryRun: true})
	if err != nil {
		return nil, err
	}
	return res.Plan, nil
}

// loadDesired reads every environment file at commit and applies defaults,
// reusing the defaulted copy of a file whose content did not change. A
// commit is immutable: at the commit of the last pass it returns what that
// pass loaded (which passes only read); at a later one it reads only the
// files that changed, when that is safe (loadChanged).
func (r *Reconciler) loadDesired(ctx context.Context, commit string) (map[string]*Desired, error) {
	if commit == r.loadedCommit && r.loaded != nil {
		return r.loaded, nil
	}
	if ok, err := r.loadChanged(ctx, commit); err != nil {
		return nil, err
	} else if ok {
		return r.loaded, nil
	}
	list, err := r.repo.Environments(ctx, commit)
	if err != nil {
		return nil, fmt.Errorf("loading environments at %s: %w", short(commit), err)
	}
	out, cache := r.desiredFrom(list)
	r.defaulted = cache
	r.loaded, r.loadedCommit = out, commit
	return out, nil
}

// massDeletionOverride widens the guard with what the operator allowed:
// the pass option (a flag) or the allow-deletions file in the repository.
func (r *Reconciler) massDeletionOverride(ctx context.Context, commit string, opts PassOptions) (GuardPolicy, error) {
	g := r.cfg.Guard
	g.Override = g.Override || opts.AllowMassDeletion
	n, err := r.repo.AllowedDeletions(ctx, commit)
	if err != nil {
		return g, fmt.Errorf("reading the deletion override at %s: %w", short(commit), err)
	}
	g.Allow = max(g.Allow, n)
	return g, nil
}

func (r *Reconciler) loadStatus(ctx context.Context) error {
	if r.status != nil {
		return nil
	}
	st, err := r.repo.ReadStatus(ctx)
	if err != nil {
		return fmt.Errorf("reading the status branch: %w", err)
	}
	r.status = st
	r.written = make(map[string]digest, len(st))
	for name, s := range st {
		r.written[name] = statusDigest(s)
	}
	return nil
}

// rememberBlobs records the environment files of this pass, in place: an
// unchanged fleet allocates nothing.
func (r *Reconciler) rememberBlobs(desired map[string]*Desired) {
	if r.lastBlobs == nil {
		r.lastBlobs = make(map[string]string, len(desired))
	}
	for name, d := range desired {
		k := fileKey(d)
		if old, ok := r.lastBlobs[name]; !ok || old != k {
			r.lastBlobs[name] = k
		}
	}
	for name := range r.lastBlobs {
		if _, ok := desired[name]; !ok {
			delete(r.lastBlobs, name)
		}
	}
}

// outcome is the result of applying one item.
type outcome struct {
	action Action
	inst   *platform.Installation
	err    error
	// generation is the generation a create used.
	generation int
	// deferred is set when backoff held the change back.
	deferred bool
}

// apply carries out the plan's changes with bounded concurrency, the request
// rate, and per-environment backoff.
func (r *Reconciler) apply(ctx context.Context, p *Plan, desired map[string]*Desired, now time.Time) map[string]outcome {
	out := make(map[string]outcome)
	var mu sync.Mutex
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range p.Items {
		it := &p.Items[i]
		if !it.Action.mutates() {
			continue
		}
		if it.Blocked {
			r.cfg.Metrics.Action(it.Action, "blocked")
			continue
		}
		key := it.Name
		if it.Action == ActionDelete && it.Installation != nil {
			key = it.Name + "/" + it.Installation.ID
		}
		if b, ok := r.backoff[key]; ok && now.Before(b.until) {
			out[key] = outcome{action: it.Action, deferred: true, err: fmt.Errorf("retrying after %s", b.until.Format(time.RFC3339))}
			r.cfg.Metrics.Action(it.Action, "deferred")
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := r.applyOne(ctx, it, desired[it.Name])
			r.cfg.Metrics.Action(it.Action, result(o.err))
			if o.err != nil {
				r.cfg.Logger.WarnContext(ctx, "change failed", "environment", it.Name, "action", string(it.Action), "error", o.err)
			}
			mu.Lock()
			out[key] = o
			mu.Unlock()
		}()
	}
	wg.Wait()
	for key, o := range out {
		if o.deferred {
			continue
		}
		if o.err == nil {
			delete(r.backoff, key)
			continue
		}
		b := r.backoff[key]
		b.failures++
		b.until = now.Add(r.backoffDelay(b.failures))
		r.backoff[key] = b
	}
	return out
}

// backoffDelay is exponential in the number of failures, capped, with full
// jitter so environments failing together do not retry together.
func (r *Reconciler) backoffDelay(failures int) time.Duration {
	d := r.cfg.BackoffBase
	for i := 1; i < failures && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.cfg.BackoffMax)
	return d/2 + time.Duration(r.rand.Int64N(int64(d/2)+1))
}

func (r *Reconciler) applyOne(ctx context.Context, it *Item, d *Desired) outcome {
	o := outcome{action: it.Action}
	switch it.Action {
	case ActionCreate:
		st := r.status[it.Name]
		gen := 1
		if st != nil {
			gen = max(st.Reconciler.Generation, 1)
			if st.Status.Installation != nil && st.Status.Installation.ID != "" {
				// The recorded installation is gone: a new generation.
				gen++
			}
			if st.Reconciler.CreatePendingSince != nil {
				// An earlier create may have reached the provisioner
				// without its answer reaching us: look before creating.
				inst, err := r.ext.lookup(ctx, it.Name, installationName(it.Name, gen))
				if err != nil {
					o.err = err
					return o
				}
				if inst != nil {
					o.inst, o.generation = inst, gen
					return o
				}
			}
		}
		o.inst, o.generation, o.err = r.ext.Create(ctx, d, gen)
	case ActionUpdate:
		o.inst, o.err = r.ext.Update(ctx, it.Installation.ID, *it.Patch)
	case ActionHibernate:
		o.inst, o.err = r.ext.Hibernate(ctx, it.Installation.ID)
	case ActionWakeUp:
		o.inst, o.err = r.ext.WakeUp(ctx, it.Installation.ID)
	case ActionDelete:
		o.err = r.ext.Delete(ctx, it.Installation.ID)
	case ActionRestore:
		o.inst, o.err = r.ext.Restore(ctx, it.Installation.ID)
	}
	return o
}

func (r *Reconciler) countEnvironments(next map[string]*Status) {
	counts := map[EnvironmentKey]int{}
	for _, st := range next {
		k := EnvironmentKey{State: "none", Condition: readyReason(st)}
		if st.Status.Installation != nil && st.Status.Installation.State != "" {
			k.State = st.Status.Installation.State
		}
		counts[k]++
	}
	r.cfg.Metrics.Environments(counts)
}

// StatusOf returns the recorded status of one environment (as of the last
// pass of this reconciler), or nil.
func (r *Reconciler) StatusOf(name string) *Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status[name].DeepCopy()
}

// environmentOfInstallation is the environment whose recorded
// installation has this ID, or "".
func (r *Reconciler) environmentOfInstallation(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, st := range r.status {
		if st.Status.Installation != nil && st.Status.Installation.ID == id {
			return name
		}
	}
	return ""
}

func short(commit string) string {
	if len(commit) > 8 {
		return commit[:8]
	}
	return commit
}

// maxIncremental is the most changed environment files a pass handles
// incrementally; more and it observes everything.
const maxIncremental = 20

// scope returns the environments an incremental pass covers, or nil for a
// full pass. A pass is incremental only when asked, within ten minutes of a
// full pass in this process (which refreshes the owned count the guard
// uses; periodic passes are always full), and when the environment files
// that changed since the last pass (compared by blob, which costs a map
// look-up per file) are at most maxIncremental. A name another file starts
// or stops claiming counts as changed (see fileKey), so the unique-name
// rule holds across all files in an incremental pass too.
func (r *Reconciler) scope(desired map[string]*Desired, opts PassOptions) map[string]bool {
	if !opts.Incremental || opts.DryRun || r.lastBlobs == nil || r.lastFull.IsZero() ||
		r.cfg.Clock.Now().Sub(r.lastFull) > 10*time.Minute {
		return nil
	}
	names := map[string]bool{}
	for name, d := range desired {
		if blob, ok := r.lastBlobs[name]; !ok || blob != fileKey(d) {
			names[name] = true
			if len(names) > maxIncremental {
				return nil
			}
		}
	}
	for name := range r.lastBlobs {
		if _, ok := desired[name]; !ok {
			names[name] = true
		}
	}
	if len(names) == 0 || len(names) > maxIncremental {
		return nil
	}
	return names
}

func subset(desired map[string]*Desired, scope map[string]bool) map[string]*Desired {
	out := make(map[string]*Desired, len(scope))
	for name := range scope {
		if d, ok := desired[name]; ok {
			out[name] = d
		}
	}
	return out
}
