package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	coordfake "k8s.io/client-go/kubernetes/typed/coordination/v1/fake"
	k8stesting "k8s.io/client-go/testing"
)

// These tests use client-go's fake clientset to check the gating quickly;
// the failover on a real API server is e2e/failover_test.go.

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeLeases is an in-memory Leases API (client-go's typed fake for the
// coordination group only, so tests do not build every API group's fake).
type fakeLeases struct {
	*coordfake.FakeCoordinationV1
}

func newFake(t *testing.T) *fakeLeases {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := coordv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	tracker := k8stesting.NewObjectTracker(scheme, serializer.NewCodecFactory(scheme).UniversalDecoder())
	f := &k8stesting.Fake{}
	f.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	return &fakeLeases{&coordfake.FakeCoordinationV1{Fake: f}}
}

func (f *fakeLeases) CoordinationV1() *coordfake.FakeCoordinationV1 { return f.FakeCoordinationV1 }

func newElector(t *testing.T, cs *fakeLeases, id string) *Elector {
	t.Helper()
	e, err := New(Options{
		Client: cs.CoordinationV1(), Namespace: "envwick", Name: "envwick", Identity: id,
		LeaseDuration: 1500 * time.Millisecond, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond,
		Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func holder(t *testing.T, cs *fakeLeases) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases("envwick").Get(context.Background(), "envwick", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %s", what, within)
}

// overlap runs as the work of several electors and fails the test if two
// ever run at once; each stops slowly, so a release before the work ended
// would let the next one start while it still ran.
type overlap struct {
	t       *testing.T
	running atomic.Int32
	stopLag time.Duration
}

func (o *overlap) work(name string, log *[]string, mu *sync.Mutex) func(context.Context) {
	return func(ctx context.Context) {
		if n := o.running.Add(1); n > 1 {
			o.t.Errorf("%s started leading while %d other works ran", name, n-1)
		}
		mu.Lock()
		*log = append(*log, name)
		mu.Unlock()
		<-ctx.Done()
		time.Sleep(o.stopLag) // abandoning a pass takes a moment
		o.running.Add(-1)
	}
}

func TestOneLeaderAtATimeAndHandOverOnCancel(t *testing.T) {
	cs := newFake(t)
	ov := &overlap{t: t, stopLag: 300 * time.Millisecond}
	var mu sync.Mutex
	var order []string
	ctxs := map[string]context.CancelFunc{}
	electors := map[string]*Elector{}
	done := map[string]chan error{}
	for _, id := range []string{"a", "b", "c"} {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		e := newElector(t, cs, id)
		ch := make(chan error, 1)
		ctxs[id], electors[id], done[id] = cancel, e, ch
		go func() { ch <- e.Run(ctx, ov.work(id, &order, &mu)) }()
	}
	leaderID := func() string {
		for id, e := range electors {
			if e.Leading() {
				return id
			}
		}
		return ""
	}
	for round := range 2 {
		eventually(t, 5*time.Second, fmt.Sprintf("round %d: a leader", round), func() bool { return leaderID() != "" })
		first := leaderID()
		if h := holder(t, cs); h != first {
			t.Fatalf("lease holder %q; want the leading replica %q", h, first)
		}
		// SIGTERM on the leader: its work stops, then it releases, and
		// another takes over well before the lease would have expired.
		stopped := time.Now()
		ctxs[first]()
		if h := holder(t, cs); h != first {
			t.Errorf("the lease went to %q before %s's work stopped", h, first)
		}
		select {
		case err := <-done[first]:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s's Run did not return after its context ended", first)
		}
		if electors[first].Leading() {
			t.Errorf("%s still leading after Run returned", first)
		}
		delete(electors, first)
		eventually(t, 5*time.Second, "hand-over", func() bool { return leaderID() != "" })
		if took := time.Since(stopped); took > 1500*time.Millisecond {
			t.Errorf("hand-over took %s; want less than the lease duration (the lease was released)", took)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 {
		t.Errorf("works started %v; want each of the three once", order)
	}
}

func TestLostLeaseStopsTheWorkBeforeTheLeaseIsReleased(t *testing.T) {
	cs := newFake(t)
	e := newElector(t, cs, "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Once failing, the API server refuses every update: renewals fail,
	// and at the end of the renew deadline the work must stop, before the
	// release update (refused too) is even tried.
	var failing, releaseWhileWorking atomic.Bool
	var working atomic.Int32
	cs.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !failing.Load() {
			return false, nil, nil
		}
		l := a.(k8stesting.UpdateAction).GetObject().(*coordv1.Lease)
		if (l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "") && working.Load() > 0 {
			releaseWhileWorking.Store(true)
		}
		return true, nil, errors.New("apiserver unreachable")
	})
	stoppedAt := make(chan time.Time, 1)
	go e.Run(ctx, func(ctx context.Context) {
		if working.Add(1) > 1 {
			t.Error("a second term started while the first one's work ran")
		}
		<-ctx.Done()
		select {
		case stoppedAt <- time.Now():
		default:
		}
		time.Sleep(300 * time.Millisecond) // abandoning a pass takes a moment
		working.Add(-1)
	})
	eventually(t, 5*time.Second, "leading", e.Leading)

	failing.Store(true)
	lost := time.Now()
	select {
	case at := <-stoppedAt:
		if d := at.Sub(lost); d > 2*time.Second {
			t.Errorf("work stopped %s after renewals began failing; want about the renew deadline (1s)", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("work did not stop after the lease could not be renewed")
	}
	if releaseWhileWorking.Load() {
		t.Error("the lease was released while the work still ran")
	}
	eventually(t, time.Second, "not leading after losing the lease", func() bool { return !e.Leading() })
	// Once the API server answers again the replica leads again, in a new
	// term, its first work having returned.
	failing.Store(false)
	eventually(t, 5*time.Second, "leading again", func() bool { return e.Leading() && e.Terms() == 2 })
}

func TestNewChecksDurationsAndRequiredFields(t *testing.T) {
	cs := newFake(t)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no client", Options{Namespace: "n", Name: "l", Identity: "i"}},
		{"no identity", Options{Client: cs.CoordinationV1(), Namespace: "n", Name: "l"}},
		{"renew not below lease", Options{Client: cs.CoordinationV1(), Namespace: "n", Name: "l", Identity: "i", LeaseDuration: 10 * time.Second, RenewDeadline: 10 * time.Second}},
		{"retry not below renew", Options{Client: cs.CoordinationV1(), Namespace: "n", Name: "l", Identity: "i", RenewDeadline: 2 * time.Second, RetryPeriod: 2 * time.Second}},
	} {
		if _, err := New(tc.o); err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.o)
		}
	}
	e, err := New(Options{Client: cs.CoordinationV1(), Namespace: "n", Name: "l", Identity: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if e.o.LeaseDuration != 15*time.Second || e.o.RenewDeadline != 10*time.Second || e.o.RetryPeriod != 2*time.Second {
		t.Errorf("defaults %s/%s/%s; want 15s/10s/2s", e.o.LeaseDuration, e.o.RenewDeadline, e.o.RetryPeriod)
	}
}
