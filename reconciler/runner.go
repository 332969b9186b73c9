package reconciler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Runner runs passes for as long as its context lasts: periodically (with
// jitter), at once when a trigger fires (an in-process commit, a push
// webhook, a provisioner state change), one at a time. Triggers that arrive
// during a pass coalesce into one more pass.
type Runner struct {
	Reconciler *Reconciler
	// Interval between periodic passes (default 1 minute), each shortened
	// or lengthened by up to Jitter of itself (default 0.1).
	Interval time.Duration
	Jitter   float64
	// Commits, when set, wakes the runner on each in-process commit (the
	// store's Subscribe).
	Commits <-chan string
	// Poll, when set, reads the head of the branch on the remote (a cheap
	// ref read, no fetch) every PollInterval; a head no pass has read yet
	// starts one, as a push webhook would, for remotes that send none.
	Poll         func(ctx context.Context) (string, error)
	PollInterval time.Duration
	// PassOptions apply to every pass.
	PassOptions PassOptions
	Logger      *slog.Logger

	once    sync.Once
	kick    chan trigger
	ready   atomic.Bool
	passes  atomic.Int64
	lastErr atomic.Pointer[string]
	// lastInvalid identifies the invalid files last logged (only the Run
	// goroutine touches it).
	lastInvalid string
	// seen is the newest head a pass has read or been asked to read, so a
	// poll triggers once per new head.
	seen atomic.Pointer[string]
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.kick = make(chan trigger, 1)
		if r.Interval <= 0 {
			r.Interval = time.Minute
		}
		if r.Jitter <= 0 {
			r.Jitter = 0.1
		}
		if r.Logger == nil {
			r.Logger = slog.Default()
		}
	})
}

// Trigger asks for a pass as soon as possible. It never blocks: a pass
// already asked for covers this one too.
func (r *Runner) Trigger(reason string) { r.kickOff(trigger{reason: reason}) }

// InstallationChanged asks for a pass after a platform installation changed
// state (the provisioner's webhooks call it); the pass's log names the
// environment the installation belongs to, not only its ID.
func (r *Runner) InstallationChanged(id, from, to string) {
	r.kickOff(trigger{installation: id, from: from, to: to})
}

// trigger is why a pass was asked for.
type trigger struct {
	reason string
	// installation, from and to describe a platform state change.
	installation, from, to string
}

func (r *Runner) kickOff(t trigger) {
	r.init()
	select {
	case r.kick <- t:
	default:
	}
}

// describe is the trigger as log attributes: an installation's change
// names its environment (as recorded in status).
func (r *Runner) describe(t trigger) []any {
	if t.installation == "" {
		return []any{"trigger", t.reason}
	}
	change := t.from + " -> " + t.to
	name := r.Reconciler.environmentOfInstallation(t.installation)
	if name == "" {
		return []any{"trigger", "installation " + t.installation + " (no environment recorded): " + change, "installation", t.installation}
	}
	return []any{"trigger", "environment " + name + ": " + change, "environment", name, "installation", t.installation}
}

// Ready reports whether a pass has completed since the runner started.
func (r *Runner) Ready() bool { return r.ready.Load() }

// Passes counts the passes run.
func (r *Runner) Passes() int64 { return r.passes.Load() }

// LastError is the error of the last pass, or "".
func (r *Runner) LastError() string {
	if p := r.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// Run runs passes until ctx ends. A failed pass is logged and retried at
// the next trigger or tick.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	commits := r.Commits
	if r.Poll != nil && r.PollInterval > 0 {
		go r.poll(ctx)
	}
	timer := time.NewTimer(0) // a first pass at once
	defer timer.Stop()
	for {
		var t trigger
		incremental := false
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			t.reason = "periodic"
		case t = <-r.kick:
			// A push to the envs repository is a commit like an
			// in-process one.
			incremental = strings.HasPrefix(t.reason, "push ")
		case c, ok := <-commits:
			if !ok {
				commits = nil
				continue
			}
			t.reason, incremental = "commit "+short(c), true
			r.seen.Store(&c)
		}
		r.runPass(ctx, t, incremental)
		// Since Go 1.23 Reset discards a tick that fired during the pass.
		timer.Reset(r.untilNext())
	}
}

func (r *Runner) runPass(ctx context.Context, t trigger, incremental bool) {
	start := time.Now()
	opts := r.PassOptions
	opts.Incremental = incremental
	res, err := r.Reconciler.Pass(ctx, opts)
	r.passes.Add(1)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		r.lastErr.Store(&msg)
		r.Logger.ErrorContext(ctx, "pass failed", append(r.describe(t), "error", err)...)
		return
	}
	empty := ""
	r.lastErr.Store(&empty)
	if c := res.Plan.Commit; c != "" {
		r.seen.Store(&c)
	}
	r.ready.Store(true)
	level := slog.LevelDebug
	if res.Plan.Changes() > 0 || len(res.Errors) > 0 || res.StatusWritten || len(res.Plan.Invalid) > 0 {
		level = slog.LevelInfo
	}
	r.Logger.Log(ctx, level, "pass done", append(r.describe(t), "commit", short(res.Plan.Commit),
		"changes", res.Plan.Changes(), "errors", len(res.Errors), "invalid", len(res.Plan.Invalid),
		"statusWritten", res.StatusWritten, "housekept", res.Housekept, "duration", time.Since(start).Round(time.Millisecond))...)
	r.logInvalid(ctx, res.Plan.Invalid)
}

// logInvalid warns about each invalid file's problems when the set of
// invalid files changed since the last pass, so a broken push shows in the
// log once, not at every periodic pass.
func (r *Runner) logInvalid(ctx context.Context, invalid []InvalidFile) {
	var key strings.Builder
	for _, f := range invalid {
		key.WriteString(f.Path + "\x00" + f.Problems.Error() + "\x00")
	}
	if key.String() == r.lastInvalid {
		return
	}
	r.lastInvalid = key.String()
	for _, f := range invalid {
		for _, p := range f.Problems {
			r.Logger.WarnContext(ctx, "invalid environment file: left as it is", "environment", f.Name, "problem", p.Error())
		}
	}
}

// poll triggers a pass when the remote's head is one no pass has read.
// A failed read is logged at debug level and tried again at the next tick:
// the periodic pass still covers the remote.
func (r *Runner) poll(ctx context.Context) {
	tick := time.NewTicker(r.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		head, err := r.Poll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.Logger.DebugContext(ctx, "polling the remote head", "error", err)
			}
			continue
		}
		if seen := r.seen.Load(); head == "" || (seen != nil && *seen == head) {
			continue
		}
		r.seen.Store(&head)
		r.Trigger("push " + short(head) + " (poll)")
	}
}

// untilNext is the time to the next pass the runner starts by itself: the
// next periodic pass, or sooner, when a status write held back by the
// status interval falls due (so the status branch lags by the interval,
// not by the interval and a periodic pass). Not sooner than a second: a
// write that keeps failing is not retried in a loop.
func (r *Runner) untilNext() time.Duration {
	d := r.next()
	if held, ok := r.Reconciler.heldFor(); ok && held < d {
		d = max(held, time.Second)
	}
	return d
}

// next is the jittered interval to the next periodic pass.
func (r *Runner) next() time.Duration {
	f := 1 + r.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(r.Interval) * f)
}
