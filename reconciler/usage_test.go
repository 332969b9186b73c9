package reconciler

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
)

type usageTable struct {
	mu sync.Mutex
	m  map[string]Usage
}

func (u *usageTable) set(name string, v Usage) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]Usage{}
	}
	u.m[name] = v
}

func (u *usageTable) Usage(name string) (Usage, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.m[name]
	return v, ok
}

// Idle hibernation follows the installation's own usage: posts keep it
// awake, many active users keep it awake, an installation that cannot be
// asked is never idle, and usage of another installation counts for
// nothing.
func TestUsageDecidesIdleHibernation(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name      string
		usage     func(id string, now time.Time) Usage
		hibernate bool
	}{
		{"no usage known", nil, true},
		{"a post a day ago", func(id string, now time.Time) Usage {
			return Usage{InstallationID: id, LastPost: now.Add(-day), ActiveUsers: 3}
		}, false},
		{"no posts since creation", func(id string, now time.Time) Usage {
			return Usage{InstallationID: id, ActiveUsers: 3}
		}, true},
		{"busy", func(id string, now time.Time) Usage { return Usage{InstallationID: id, ActiveUsers: 101} }, false},
		{"exactly the most users", func(id string, now time.Time) Usage { return Usage{InstallationID: id, ActiveUsers: 100} }, true},
		{"cannot be asked", func(id string, now time.Time) Usage {
			return Usage{InstallationID: id, Err: errors.New("connection refused")}
		}, false},
		{"another installation", func(_ string, now time.Time) Usage {
			return Usage{InstallationID: "someone-else", Err: errors.New("connection refused")}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			usage := &usageTable{}
			r := h.reconciler(func(c *Config) { c.Usage = usage })
			h.put(env("chat"))
			h.pass(r)
			h.settle()
			h.pass(r)
			id := h.readStatus("chat").Status.Installation.ID
			h.clock.Advance(8 * day)
			if tc.usage != nil {
				usage.set("chat", tc.usage(id, h.clock.Now()))
			}
			res := h.pass(r)
			if got := len(res.Plan.Housekeeping) == 1; got != tc.hibernate {
				t.Fatalf("hibernation committed: %v, want %v (housekeeping %+v)", got, tc.hibernate, res.Plan.Housekeeping)
			}
			if st := h.readStatus("chat").Status; !tc.hibernate && tc.usage != nil && st.HibernateAt != nil && !st.HibernateAt.After(h.clock.Now()) {
				t.Errorf("hibernateAt %s is due although usage holds it", st.HibernateAt)
			}
		})
	}
}

func TestRunningListsStableInstallations(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("up"), env("asleep"))
	h.pass(r)
	if got := r.Running(); len(got) != 0 {
		t.Fatalf("running while creating: %+v", got)
	}
	h.settle()
	h.pass(r)
	h.put(env("asleep", func(e *envs.Environment) { e.Spec.State = envs.StateHibernated }))
	h.pass(r)
	h.settle()
	h.pass(r)
	got := r.Running()
	if len(got) != 1 || got[0].Name != "up" || got[0].URL == "" || got[0].InstallationID == "" {
		t.Fatalf("running %+v, want only up with its URL and ID", got)
	}
}
