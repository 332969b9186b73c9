package automation

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/github/fakegithub"
)

// openPulls stores n open pull requests updated at `updated`.
func openPulls(fake *fakegithub.Server, n int, updated time.Time, labels ...string) {
	for i := 1; i <= n; i++ {
		pr := &gh.PullRequest{Number: gh.Int(i), State: gh.String("open"), UpdatedAt: &gh.Timestamp{Time: updated}}
		for _, l := range labels {
			pr.Labels = append(pr.Labels, &gh.Label{Name: gh.String(l)})
		}
		fake.SetPull(testRepo, pr)
	}
}

// sweepRequests runs one sweep and returns the requests it made.
func sweepRequests(t testing.TB, r *rig) []fakegithub.Request {
	before := len(r.gh.Requests())
	r.auto.Sweep(context.Background())
	return r.gh.Requests()[before:]
}

func TestStale(t *testing.T) {
	r := newRig(t, Repository{Stale: &Stale{Days: 10, ExemptLabels: []string{"keep-open"}}})
	r.clock = time.Now()
	old := r.clock.Add(-11 * 24 * time.Hour)
	openPulls(r.gh, 3, old)
	r.gh.SetPull(testRepo, &gh.PullRequest{Number: gh.Int(2), State: gh.String("open"), UpdatedAt: &gh.Timestamp{Time: r.clock.Add(-time.Hour)}})
	r.gh.SetPull(testRepo, &gh.PullRequest{Number: gh.Int(3), State: gh.String("open"), UpdatedAt: &gh.Timestamp{Time: old}, Labels: []*gh.Label{{Name: gh.String("keep-open")}}})
	r.gh.SetPull(testRepo, &gh.PullRequest{Number: gh.Int(4), State: gh.String("closed"), UpdatedAt: &gh.Timestamp{Time: old}})

	sweepRequests(t, r)
	for n, want := range map[int]bool{1: true, 2: false, 3: false, 4: false} {
		got := strings.Join(r.gh.Labels(testRepo, n), ",") == LabelStale
		if got != want {
			t.Errorf("#%d labelled stale: %v, want %v (labels %v)", n, got, want, r.gh.Labels(testRepo, n))
		}
	}
	if cs := r.comments(1); len(cs) != 1 || !strings.Contains(cs[0], "no activity for 10 days") {
		t.Fatalf("stale comment %q", cs)
	}

	// The labelling changed the page; after that sweep, nothing changed:
	// the sweep reads the one page, answered 304.
	sweepRequests(t, r)
	reqs := sweepRequests(t, r)
	if len(reqs) != 1 || reqs[0].Status != http.StatusNotModified {
		t.Fatalf("idle sweep requests %+v, want one 304", reqs)
	}

	// Activity removes the label: a comment by a person.
	p := comment(t, 1, "Codertocat", "Still working on it")
	p.obj("issue")["labels"] = []any{map[string]any{"name": LabelStale}}
	r.send("issue_comment", p)
	if got := r.gh.Labels(testRepo, 1); len(got) != 0 {
		t.Fatalf("labels after activity %v", got)
	}
	// A push too, and a bot's comment is no activity.
	pr, _ := r.gh.Pull(testRepo, 2)
	pr.Labels = []*gh.Label{{Name: gh.String(LabelStale)}}
	r.gh.SetPull(testRepo, pr)
	bot := comment(t, 2, "envwick[bot]", "a bot speaking")
	bot.obj("comment", "user")["type"] = "Bot"
	bot.obj("issue")["labels"] = []any{map[string]any{"name": LabelStale}}
	r.send("issue_comment", bot)
	if got := r.gh.Labels(testRepo, 2); len(got) != 1 {
		t.Fatalf("a bot's comment removed the label: %v", got)
	}
	push := example(t, "pull_request.synchronize.0")
	push["number"] = 2
	push.obj("pull_request")["number"] = 2
	push.obj("pull_request")["labels"] = []any{map[string]any{"name": LabelStale}}
	r.send("pull_request", push)
	if got := r.gh.Labels(testRepo, 2); len(got) != 0 {
		t.Fatalf("labels after a push %v", got)
	}
}

// BenchmarkStaleSweepIdle measures the API calls of a sweep over 1,000
// open pull requests when nothing changed since the last sweep.
func BenchmarkStaleSweepIdle(b *testing.B) {
	r := newRig(b, Repository{Stale: &Stale{}})
	r.clock = time.Now()
	openPulls(r.gh, 1000, r.clock.Add(-time.Hour))
	first := sweepRequests(b, r)
	b.ResetTimer()
	var reqs []fakegithub.Request
	for range b.N {
		reqs = sweepRequests(b, r)
	}
	b.StopTimer()
	notModified := 0
	for _, q := range reqs {
		if q.Status == http.StatusNotModified {
			notModified++
		}
	}
	if notModified != len(reqs) || len(reqs) != 10 {
		b.Fatalf("idle sweep: %d requests, %d answered 304; want 10, all 304", len(reqs), notModified)
	}
	b.ReportMetric(float64(len(first)), "first-sweep-requests")
	b.ReportMetric(float64(len(reqs)), "requests/sweep")
	b.ReportMetric(float64(notModified), "304/sweep")
}
