package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
)

func TestHousekeepingThroughGit(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	day := 24 * time.Hour
	handWritten := []byte(`# Owned by the platform team; do not remove.
apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: idle
spec:
  owner:
    github: alice # the owner
  installation:
    version: "10.5.0"
    size: miniSingleton
    affinity: multitenant
    database: aws-multitenant-rds-postgres
    filestore: bifrost
`)
	h.commit("Add idle", map[string][]byte{envs.PathFor("idle"): handWritten}, nil)
	h.put(env("kept", func(e *envs.Environment) { e.Spec.Lifecycle.Keep = true }))
	h.pass(r)
	h.settle()
	h.pass(r)
	st := h.readStatus("idle")
	if st.Status.LastActivity == nil || st.Status.HibernateAt == nil || st.Status.DeleteAt != nil {
		t.Fatalf("deadlines of a running env: %+v", st.Status)
	}
	if want := st.Status.LastActivity.Add(7 * day); !st.Status.HibernateAt.Time.Equal(want) {
		t.Errorf("hibernateAt %s, want %s", st.Status.HibernateAt, want)
	}
	if st := h.readStatus("kept"); st.Status.HibernateAt != nil {
		t.Errorf("kept env has hibernateAt %s", st.Status.HibernateAt)
	}

	// A week and a day without activity: hibernated through git.
	h.clock.Advance(8 * day)
	res := h.pass(r)
	if len(res.Plan.Housekeeping) != 1 || res.Housekept != 1 || res.Plan.Housekeeping[0].Action != HousekeepHibernate {
		t.Fatalf("housekeeping %+v", res.Plan.Housekeeping)
	}
	head, _ := h.repo.Head("")
	msg := h.message(head)
	if !strings.HasPrefix(msg, "Hibernate idle: no activity for 7d") {
		t.Errorf("commit message %q", msg)
	}
	// The trailers every bot commit carries: who asked, and the rule with
	// its figures.
	rule := "idle 7d, last activity " + st.Status.LastActivity.UTC().Format("2006-01-02T15:04Z")
	if got := res.Plan.Housekeeping[0].Source; got != rule {
		t.Errorf("source %q, want %q", got, rule)
	}
	for _, trailer := range []string{"\nRequested-by: envwick housekeeping\n", "\nSource: " + rule + "\n", "\nCommand: housekeeping hibernate\n"} {
		if !strings.Contains(msg, trailer) {
			t.Errorf("commit message %q lacks %q", msg, trailer)
		}
	}
	data, _ := h.file(envs.PathFor("idle"))
	if !strings.Contains(string(data), "state: hibernated") || !strings.Contains(string(data), "# the owner") || !strings.Contains(string(data), "do not remove") {
		t.Errorf("hibernated file lost comments or state:\n%s", data)
	}
	h.pass(r) // applies the hibernation
	h.settle()
	h.pass(r)
	st = h.readStatus("idle")
	if st.Status.HibernatedAt == nil || st.Status.DeleteAt == nil {
		t.Fatalf("hibernated status %+v", st.Status)
	}
	h.notes.take()

	// Within a day of deletion: one notice, not one per pass.
	h.clock.Advance(st.Status.DeleteAt.Sub(h.clock.Now()) - time.Hour)
	h.pass(r)
	h.pass(r)
	if n := expiring(h.notes.take()); len(n) != 1 || n[0].Name != "idle" || n[0].DeadlineAction != HousekeepDelete ||
		!strings.HasPrefix(n[0].Message, "will be deleted at ") {
		t.Errorf("expiring notices %+v, want one deletion notice", n)
	}

	// Past the deadline: the file is removed through git, then the
	// installation deleted.
	h.clock.Advance(2 * time.Hour)
	res = h.pass(r)
	if res.Housekept != 1 {
		t.Fatalf("no deletion commit: %+v", res.Plan.Housekeeping)
	}
	head, _ = h.repo.Head("")
	if msg := h.message(head); !strings.HasPrefix(msg, "Delete idle: hibernated for 14d") ||
		!strings.Contains(msg, "\nRequested-by: envwick housekeeping\n") || !strings.Contains(msg, "\nSource: hibernated 14d, since ") {
		t.Errorf("commit message %q", msg)
	}
	if _, ok := h.file(envs.PathFor("idle")); ok {
		t.Error("file still there")
	}
	h.pass(r)
	owned := h.owned()
	if len(owned) != 1 || owned[0].Name != "kept" {
		t.Errorf("owned %v, want kept only", names(owned))
	}
}

func TestExpiryAppliesDespiteKeep(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("short", func(e *envs.Environment) {
		e.Spec.Lifecycle.Keep = true
		e.Spec.Lifecycle.TTL = envs.NewDuration(2 * time.Hour)
	}))
	h.pass(r)
	h.clock.Advance(3 * time.Hour)
	res := h.pass(r)
	if len(res.Plan.Housekeeping) != 1 || res.Plan.Housekeeping[0].Action != HousekeepDelete ||
		!strings.Contains(res.Plan.Housekeeping[0].Reason, "time to live") || !strings.HasPrefix(res.Plan.Housekeeping[0].Source, "ttl 2h, created ") {
		t.Errorf("housekeeping %+v", res.Plan.Housekeeping)
	}
}

func TestReportedActivityPostponesHibernation(t *testing.T) {
	h := newHarness(t)
	activity := NewActivity()
	r := h.reconciler(func(c *Config) { c.Activity = activity })
	h.put(env("busy"))
	h.pass(r)
	h.clock.Advance(6 * 24 * time.Hour)
	// A push to the environment's pull request, reported by a bot.
	activity.RecordActivity(h.ctx, "busy", h.clock.Now(), "pull request push")
	h.pass(r)
	h.clock.Advance(2 * 24 * time.Hour) // 8 days after creation, 2 after the push
	res := h.pass(r)
	if len(res.Plan.Housekeeping) != 0 {
		t.Fatalf("hibernated despite recent activity: %+v", res.Plan.Housekeeping)
	}
	st := h.readStatus("busy")
	if want := h.clock.Now().Add(-2 * 24 * time.Hour).Add(7 * 24 * time.Hour); !st.Status.HibernateAt.Time.Equal(want) {
		t.Errorf("hibernateAt %s, want %s", st.Status.HibernateAt, want)
	}
}

// expiring returns the expiring notices among ts.
func expiring(ts []Transition) []Transition {
	var out []Transition
	for _, t := range ts {
		if t.Kind == TransitionExpiring {
			out = append(out, t)
		}
	}
	return out
}

func TestHibernationNoticeOncePerDeadline(t *testing.T) {
	h := newHarness(t)
	activity := NewActivity()
	withActivity := func(c *Config) { c.Activity = activity }
	r := h.reconciler(withActivity)
	h.put(env("idle"))
	h.pass(r)
	h.settle()
	h.pass(r)
	h.notes.take()
	deadline := h.readStatus("idle").Status.HibernateAt.Time

	// More than a day before: nothing yet.
	h.clock.Advance(deadline.Sub(h.clock.Now()) - 25*time.Hour)
	h.pass(r)
	if n := expiring(h.notes.take()); len(n) != 0 {
		t.Fatalf("notice %+v more than a day before hibernation", n)
	}

	// Within a day: one notice over two passes, saying hibernation.
	h.clock.Advance(2 * time.Hour)
	h.pass(r)
	h.pass(r)
	n := expiring(h.notes.take())
	if len(n) != 1 {
		t.Fatalf("%d notices, want 1: %+v", len(n), n)
	}
	if n[0].DeadlineAction != HousekeepHibernate || !n[0].Deadline.Equal(deadline) ||
		!strings.HasPrefix(n[0].Message, "will be hibernated at ") || n[0].Owner().GitHub != "alice" {
		t.Errorf("notice %+v", n[0])
	}

	// A restart does not send it again: the deadline notified is recorded.
	r = h.reconciler(withActivity)
	h.pass(r)
	if n := expiring(h.notes.take()); len(n) != 0 {
		t.Errorf("notice sent again after a restart: %+v", n)
	}

	// Activity moves the deadline a week on; within a day of the new one,
	// a new notice.
	activity.RecordActivity(h.ctx, "idle", h.clock.Now(), "test")
	h.pass(r)
	next := h.readStatus("idle").Status.HibernateAt.Time
	if !next.After(deadline) || len(expiring(h.notes.take())) != 0 {
		t.Fatalf("after activity: deadline %s (was %s)", next, deadline)
	}
	h.clock.Advance(next.Sub(h.clock.Now()) - time.Hour)
	h.pass(r)
	h.pass(r)
	n = expiring(h.notes.take())
	if len(n) != 1 || n[0].DeadlineAction != HousekeepHibernate || !n[0].Deadline.Equal(next) {
		t.Errorf("notices for the new deadline %s: %+v", next, n)
	}
}

// A deadline that moves a little within the notice window (activity every
// few seconds) is announced once, not once per move; one that moves earlier
// is announced again.
func TestExpiryNoticeOnceWhileTheDeadlineMoves(t *testing.T) {
	h := newHarness(t)
	activity := NewActivity()
	r := h.reconciler(func(c *Config) { c.Activity = activity })
	h.put(env("chatty"))
	h.pass(r)
	h.settle()
	h.pass(r)
	h.notes.take()
	deadline := h.readStatus("chatty").Status.HibernateAt.Time

	// Into the notice window, then activity two and six seconds apart
	// moves the deadline on each pass.
	h.clock.Advance(deadline.Sub(h.clock.Now()) - time.Hour)
	last := deadline.Add(-7 * 24 * time.Hour)
	var deadlines []time.Time
	for _, moved := range []time.Duration{0, 2 * time.Second, 8 * time.Second} {
		h.clock.Advance(2 * time.Second)
		activity.RecordActivity(h.ctx, "chatty", last.Add(moved), "post")
		h.pass(r)
		deadlines = append(deadlines, h.readStatus("chatty").Status.HibernateAt.Time)
	}
	if deadlines[0].Equal(deadlines[2]) {
		t.Fatalf("the deadline did not move: %v", deadlines)
	}
	if n := expiring(h.notes.take()); len(n) != 1 {
		t.Fatalf("%d notices while the deadline moved %v, want 1: %+v", len(n), deadlines, n)
	}

	// A shorter idle period moves the deadline earlier: announced again.
	h.put(env("chatty", func(e *envs.Environment) {
		e.Spec.Lifecycle.HibernateAfterIdle = &envs.Duration{Duration: 7*24*time.Hour - 30*time.Minute}
	}))
	h.pass(r)
	if n := expiring(h.notes.take()); len(n) != 1 || !n[0].Deadline.Before(deadlines[2]) {
		t.Fatalf("notices after the deadline moved earlier: %+v", n)
	}
}

// Housekeeping commits through the committing service it is given; without
// one, a reconciler plans (dry runs need none) but a pass with housekeeping
// due fails saying so, rather than dropping the decision.
func TestHousekeepingNeedsAHousekeeper(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler(func(c *Config) { c.Housekeeper = nil })
	h.put(env("idle"))
	h.pass(r)
	h.clock.Advance(8 * 24 * time.Hour)
	plan, err := r.Plan(h.ctx)
	if err != nil || len(plan.Housekeeping) != 1 {
		t.Fatalf("plan without a Housekeeper: %+v, %v", plan, err)
	}
	before, _ := h.repo.Head("")
	if _, err := r.Pass(h.ctx, PassOptions{}); err == nil || !strings.Contains(err.Error(), "no Housekeeper") {
		t.Errorf("pass with housekeeping due and no Housekeeper: %v", err)
	}
	if after, _ := h.repo.Head(""); after != before {
		t.Error("something was committed")
	}
}
