// Package leader runs work on one replica at a time: the holder of a
// coordination.k8s.io/v1 Lease, through client-go's leader election, as Flux
// and Argo CD controllers do. envwick gates its reconcile passes (and so
// housekeeping) with it; everything else runs on every replica.
//
// Run guarantees, in one process, that the work never runs twice at once and
// that the lease is kept until the work has returned: on a cancelled context
// (SIGTERM) the work is stopped first and the lease released after it
// (ReleaseOnCancel), so the next leader cannot start while this one is still
// passing. A leader that cannot renew within RenewDeadline stops its work at
// once; the others take over only when LeaseDuration has passed since its
// last renewal, which leaves the work LeaseDuration-RenewDeadline to stop.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// The usual controller defaults (controller-runtime, kube-controller-manager).
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Options configure an Elector.
type Options struct {
	// Client reaches the Leases; required.
	Client coordinationv1.LeasesGetter
	// Namespace and Name of the Lease; required.
	Namespace, Name string
	// Identity of this replica in the Lease (its holderIdentity); unique per
	// process. Required.
	Identity string
	// LeaseDuration is how long the others wait after the last renewal
	// before taking over; RenewDeadline how long the leader tries to renew
	// before it gives up leading; RetryPeriod how often everyone tries.
	// Zero means the default.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger receives elections; slog.Default() when nil.
	Logger *slog.Logger
}

// Elector holds or waits for one Lease.
type Elector struct {
	o       Options
	leading atomic.Bool
	// terms counts the terms this replica has started leading.
	terms atomic.Int64
	le    atomic.Pointer[leaderelection.LeaderElector]
}

// New checks the options and returns an Elector.
func New(o Options) (*Elector, error) {
	if o.Client == nil || o.Namespace == "" || o.Name == "" || o.Identity == "" {
		return nil, errors.New("leader election: a client, the lease's namespace and name, and an identity are required")
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewDeadline <= 0 {
		o.RenewDeadline = DefaultRenewDeadline
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Elector{o: o}
	// Let client-go check the durations (lease > renew > retry with jitter).
	if _, err := leaderelection.NewLeaderElector(e.config(e.lease(), func(context.Context) {}, func() {})); err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return e, nil
}

// Leading reports whether this replica holds the lease and its work runs
// (false from the moment the work is told to stop).
func (e *Elector) Leading() bool { return e.leading.Load() }

// Terms counts how many times this replica has started leading.
func (e *Elector) Terms() int64 { return e.terms.Load() }

// Leader is the holder this replica last saw in the lease ("" before it
// first read it).
func (e *Elector) Leader() string {
	if le := e.le.Load(); le != nil {
		return le.GetLeader()
	}
	return ""
}

// Identity is this replica's holder identity.
func (e *Elector) Identity() string { return e.o.Identity }

func (e *Elector) config(lock resourcelock.Interface, started func(context.Context), stopped func()) leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   e.o.LeaseDuration,
		RenewDeadline:   e.o.RenewDeadline,
		RetryPeriod:     e.o.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.o.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: started,
			OnStoppedLeading: stopped,
		},
	}
}

func (e *Elector) lease() *resourcelock.LeaseLock {
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.o.Namespace, Name: e.o.Name},
		Client:     e.o.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.o.Identity},
	}
}

// Run campaigns for the lease until ctx ends, running work whenever this
// replica holds it; work's context ends the moment the lease is lost or ctx
// ends, and Run waits for work to return before it campaigns again or
// releases the lease. It returns nil when ctx ends.
func (e *Elector) Run(ctx context.Context, work func(context.Context)) error {
	log := e.o.Logger.With("lease", e.o.Namespace+"/"+e.o.Name, "identity", e.o.Identity)
	// client-go logs through klog; give it ours.
	kctx := klog.NewContext(ctx, logr.FromSlogHandler(log.Handler()))
	for ctx.Err() == nil {
		if err := e.term(kctx, log, work); err != nil {
			return err
		}
	}
	return nil
}

// term is one campaign: wait for the lease, work while holding it, and
// return once the lease is lost or released (because ctx ended) and the
// work has returned.
func (e *Elector) term(ctx context.Context, log *slog.Logger, work func(context.Context)) error {
	var mu sync.Mutex
	stopping := false
	var cancelWork context.CancelFunc
	var working chan struct{} // closed when work returns; nil if it never started
	stopWork := func() {
		mu.Lock()
		stopping = true
		cancel, w := cancelWork, working
		mu.Unlock()
		if cancel != nil {
			cancel()
		}
		if w != nil {
			<-w
		}
	}
	// leadCtx ends when renewal fails or ctx ends.
	started := func(leadCtx context.Context) {
		mu.Lock()
		if stopping {
			mu.Unlock()
			return
		}
		workCtx, cancel := context.WithCancel(leadCtx)
		done := make(chan struct{})
		cancelWork, working = cancel, done
		mu.Unlock()
		defer close(done)
		defer cancel()
		e.terms.Add(1)
		e.leading.Store(true)
		// Not leading from the moment the work is told to stop.
		context.AfterFunc(workCtx, func() { e.leading.Store(false) })
		log.Info("leading")
		work(workCtx)
		log.Info("stopped leading")
	}
	stopped := func() { e.leading.Store(false) }
	le, err := leaderelection.NewLeaderElector(e.config(&releaseAfter{Interface: e.lease(), before: stopWork}, started, stopped))
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	e.le.Store(le)
	le.Run(ctx) // returns when the lease is lost, or released after ctx ended
	stopWork()
	return nil
}

// releaseAfter is the Lease lock with one change: releasing it (the update
// client-go makes with an empty holder, on ReleaseOnCancel, also after a
// failed renewal) first stops the work and waits for it, so the next leader
// cannot start while this one is still passing. client-go would otherwise
// release first and cancel the work after.
type releaseAfter struct {
	resourcelock.Interface
	before func()
}

func (l *releaseAfter) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	if r.HolderIdentity == "" {
		l.before()
		if ctx.Err() != nil {
			// The work took client-go's release timeout: still release,
			// on a timeout of our own (the update is conditional on the
			// lease's resourceVersion, so it cannot undo a newer holder).
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
		}
	}
	return l.Interface.Update(ctx, r)
}
