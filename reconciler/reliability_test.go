package reconciler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// crashingPlatform cancels the pass (a crash) right after its n-th call
// has reached the provisioner, before the answer is used.
type crashingPlatform struct {
	platform.Platform
	cancel context.CancelFunc
	calls  atomic.Int64
	at     int64
}

func (c *crashingPlatform) after(err error) error {
	if c.calls.Add(1) == c.at {
		c.cancel()
		return errors.New("crashed")
	}
	return err
}

func (c *crashingPlatform) CreateInstallation(ctx context.Context, r platform.InstallationRequest) (*platform.Installation, error) {
	in, err := c.Platform.CreateInstallation(ctx, r)
	if err = c.after(err); err != nil {
		return nil, err
	}
	return in, nil
}

func (c *crashingPlatform) ListInstallations(ctx context.Context, f platform.ListFilter, fn func([]platform.Installation) error) error {
	return c.after(c.Platform.ListInstallations(ctx, f, fn))
}

// checkFleet asserts one live installation per environment and none
// without one, and returns how many environments have a recorded
// installation matching the live one.
func checkFleet(t testing.TB, h *harness, names map[string]bool) int {
	t.Helper()
	byEnv := map[string]int{}
	for _, in := range h.owned() {
		env := in.MattermostEnv[IdentityEnvVar].Value
		if !names[env] {
			t.Errorf("orphan installation %s (%s) for %q", in.Name, in.ID, env)
		}
		byEnv[env]++
		if byEnv[env] > 1 {
			t.Errorf("duplicate installation %s for %s", in.ID, env)
		}
	}
	all, err := h.storeRep.ReadStatus(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	for n := range names {
		if st := all[n]; st != nil && st.Status.Installation != nil && byEnv[n] == 1 {
			recorded++
		}
	}
	return recorded
}

func TestRestartsDuringCreates(t *testing.T) {
	n, restarts := 500, 24
	if testing.Short() {
		n, restarts = 100, 20
	}
	h := newHarness(t)
	names := map[string]bool{}
	var list []*envs.Environment
	for i := range n {
		name := fmt.Sprintf("env-%03d", i)
		names[name] = true
		list = append(list, env(name))
	}
	h.put(list...)
	rng := rand.New(rand.NewPCG(1, 2))
	fast := func(c *Config) { c.RequestRate = 5000; c.RequestBurst = 100 }
	for i := range restarts {
		ctx, cancel := context.WithCancel(h.ctx)
		cp := &crashingPlatform{Platform: h.platform, cancel: cancel, at: 1 + rng.Int64N(int64(n/restarts)+5)}
		r, err := New(h.storeRep, cp, func() Config { c := h.config(); fast(&c); return c }())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = r.Pass(ctx, PassOptions{}) // crashes part way
		cancel()
		if i%5 == 4 {
			h.sim.Advance(time.Minute) // the platform moves on meanwhile
		}
	}
	// Restarted for good: converge.
	r := h.reconciler(fast)
	for range 5 {
		h.pass(r)
		h.settle()
	}
	res := h.pass(r)
	if got := checkFleet(t, h, names); got != n {
		t.Errorf("%d of %d environments converged", got, n)
	}
	if res.Plan.Changes() != 0 {
		t.Errorf("not converged: %d changes left", res.Plan.Changes())
	}
}

func TestConvergesThroughFaults(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 30
	}
	h := newHarness(t)
	names := map[string]bool{}
	var list []*envs.Environment
	for i := range n {
		name := fmt.Sprintf("f-%02d", i)
		names[name] = true
		list = append(list, env(name))
	}
	h.put(list...)
	now := h.sim.Now()
	h.sim.SetFaults(provisionersim.Faults{
		ErrorRate: 0.3,
		Latency:   provisionersim.Duration(time.Millisecond),
		Outages:   []provisionersim.Outage{{Start: now, End: now.Add(10 * time.Minute)}},
	})
	maxBackoff := 40 * time.Second
	r := h.reconciler(func(c *Config) {
		c.BackoffBase, c.BackoffMax = time.Second, maxBackoff
		c.RequestRate, c.RequestBurst = 5000, 100
	})
	// During the outage every pass fails and nothing is created.
	for range 3 {
		if _, err := r.Pass(h.ctx, PassOptions{}); err == nil {
			t.Fatal("a pass succeeded during the outage")
		}
	}
	h.sim.Advance(11 * time.Minute) // recovery; errors continue at 30%
	h.sim.SetFaults(provisionersim.Faults{})
	if len(h.owned()) != 0 {
		t.Fatal("installations created during the outage")
	}
	faults := provisionersim.Faults{ErrorRate: 0.3, Latency: provisionersim.Duration(time.Millisecond)}
	h.sim.SetFaults(faults)
	converged := false
	for i := 0; i < 60 && !converged; i++ {
		res, err := r.Pass(h.ctx, PassOptions{})
		for key, b := range r.backoff {
			if d := b.until.Sub(h.clock.Now()); d > maxBackoff {
				t.Fatalf("backoff of %s is %s, over the bound %s", key, d, maxBackoff)
			}
		}
		if err == nil && res.Plan.Changes() == 0 {
			// Look at the fleet with the faults lifted for the look only.
			h.sim.SetFaults(provisionersim.Faults{})
			converged = checkFleet(t, h, names) == n
			h.sim.SetFaults(faults)
		}
		h.clock.Advance(maxBackoff)
		h.sim.Advance(time.Minute)
	}
	h.sim.SetFaults(provisionersim.Faults{})
	if got := checkFleet(t, h, names); !converged || got != n {
		t.Fatalf("did not converge: %d of %d", got, n)
	}
}

func TestMostFilesDeleted(t *testing.T) {
	n := 40
	h := newHarness(t)
	var list []*envs.Environment
	var gone []string
	for i := range n {
		name := fmt.Sprintf("m-%02d", i)
		list = append(list, env(name))
		if i >= 4 {
			gone = append(gone, name)
		}
	}
	h.put(list...)
	r := h.reconciler(func(c *Config) { c.RequestRate = 5000 })
	h.pass(r)
	h.settle()
	h.pass(r)
	h.remove(gone...)
	muts := h.mutations.Load()
	for range 3 {
		res := h.pass(r)
		if res.Plan.Guard == "" {
			t.Fatal("guard did not hold")
		}
	}
	if h.mutations.Load() != muts || len(h.owned()) != n {
		t.Fatalf("deleted before the override: %d mutations, %d owned", h.mutations.Load()-muts, len(h.owned()))
	}
	res := h.pass(r, PassOptions{AllowMassDeletion: true})
	if len(res.Errors) != 0 || len(h.owned()) != 4 {
		t.Fatalf("override: errors %v, %d owned", res.Errors, len(h.owned()))
	}
}
