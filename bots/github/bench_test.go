package githubbot

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// BenchmarkWebhookBurst sends 1,000 label events (1,000 pull requests) at
// once to a bot whose envs repository is pushed over smart HTTP to
// git-http-backend on loopback, then sends every event again. It fails
// unless every event gets exactly one commit, at most 100 pushes carry
// them, and the re-sent events make no commit. Reply times depend on the
// machine's load, so the goal for them (99th percentile under 1 s) is
// reported (p99-reply-ms and a log line), never a failure. Run with: make
// bench (or go test -run XXX -bench WebhookBurst -benchtime 1x
// ./bots/github/).
func BenchmarkWebhookBurst(b *testing.B) {
	const events = 1000
	for range b.N {
		b.StopTimer()
		root := b.TempDir()
		bare := gittest.InitBare(b, root, "envs.git")
		git := gittest.StartHTTP(b, root, "")
		repo := committest.Open(b, store.Options{URL: git.URL("envs.git"), Dir: b.TempDir()}, bare, nil)
		r := newRig(b, rigOptions{repo: repo, dataDir: b.TempDir()})
		bodies := make([][]byte, events)
		ids := make([]string, events)
		for i := range events {
			// One author per pull request: the committer's quota of
			// pull-request environments per author is checked (walking
			// every environment at the head) and holds for each.
			p := example(b, "pull_request.labeled.0").withLabel(LabelCloud).withNumber(i + 1)
			p.obj("pull_request", "user")["login"] = fmt.Sprintf("dev%d", i)
			bodies[i] = p.bytes(b)
			ids[i] = newDelivery()
		}
		pushesBefore := git.ReceivePacks()
		cpuBefore := cpuTime()
		b.StartTimer()

		start := time.Now()
		latencies := burst(b, r.url, ids, bodies, http.StatusAccepted)
		replyCPU := cpuTime() - cpuBefore
		r.wait()
		elapsed := time.Since(start)

		b.StopTimer()
		cpu := cpuTime() - cpuBefore
		commits := len(repo.Commits(b))
		pushes := git.ReceivePacks() - pushesBefore
		p50, p99, worst := percentile(latencies, 50), percentile(latencies, 99), slices.Max(latencies)
		b.ReportMetric(float64(p99.Milliseconds()), "p99-reply-ms")
		b.ReportMetric(float64(p50.Milliseconds()), "p50-reply-ms")
		b.ReportMetric(float64(pushes), "pushes")
		b.ReportMetric(float64(commits), "commits")
		b.ReportMetric(elapsed.Seconds(), "all-committed-s")
		b.ReportMetric(cpu.Seconds()*1000/events, "cpu-ms/event")
		b.ReportMetric(replyCPU.Seconds()*1000/events, "reply-cpu-ms/event")
		b.Logf("until the last reply: %.2f ms CPU per event (everything the process did meanwhile)", replyCPU.Seconds()*1000/events)
		b.Logf("%d events: p50 %s, p99 %s, max %s reply; %d commits in %d pushes; all committed and fed back in %s; %.1f ms CPU per event (bot, fake GitHub and load generator); load average %s",
			events, p50, p99, worst, commits, pushes, elapsed.Round(time.Millisecond), cpu.Seconds()*1000/events, loadAverage())
		var failures []string
		if commits != events {
			failures = append(failures, fmt.Sprintf("%d commits, want exactly %d", commits, events))
		}
		if pushes > 100 {
			failures = append(failures, fmt.Sprintf("%d pushes, want at most 100", pushes))
		}
		goal := "met"
		if p99 >= time.Second {
			goal = "missed"
		}
		b.Logf("reply goal (99th percentile under 1s) %s: p99 %s at load average %s", goal, p99, loadAverage())

		// Every event again, as GitHub redelivers (same delivery IDs):
		// refused as seen before. Then with new IDs (someone re-labels):
		// already in place. Neither commits.
		burst(b, r.url, ids, bodies, http.StatusOK)
		fresh := make([]string, events)
		for i := range fresh {
			fresh[i] = newDelivery()
		}
		burst(b, r.url, fresh, bodies, http.StatusAccepted)
		r.wait()
		again := len(repo.Commits(b)) - commits
		b.ReportMetric(float64(again), "resent-commits")
		b.Logf("re-sent twice (same and new delivery IDs): %d new commits", again)
		if again != 0 {
			failures = append(failures, fmt.Sprintf("re-sent events made %d commits, want none", again))
		}
		if len(failures) > 0 {
			b.Fatal(strings.Join(failures, "; "))
		}
		r.stop()
	}
}

// burst posts every body at once and returns each reply's latency.
func burst(b testing.TB, url string, ids []string, bodies [][]byte, want int) []time.Duration {
	latencies := make([]time.Duration, len(bodies))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	ready := make(chan struct{})
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			t0 := time.Now()
			code, body := send(b, url, "pull_request", ids[i], bodies[i])
			latencies[i] = time.Since(t0)
			if code != want {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("event %d: %d %s", i, code, body))
				mu.Unlock()
			}
		}()
	}
	close(ready)
	wg.Wait()
	if len(failures) > 0 {
		b.Fatalf("%d replies not %d, first: %s", len(failures), want, failures[0])
	}
	return latencies
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(i, len(s))-1)]
}

// cpuTime is the CPU time this process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average, to read the figures by.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

// BenchmarkWebhookAccept is the CPU cost of accepting one label event
// (verify, read the key, spool, record the delivery, reply 202), without
// the network or the commit: what bounds how fast a burst is acknowledged.
func BenchmarkWebhookAccept(b *testing.B) {
	r := newRig(b, rigOptions{dataDir: b.TempDir()})
	r.stop() // workers off: only acceptance is measured
	bot, err := New(Options{Config: r.bot.cfg, GitHub: r.bot.gh, Committer: r.bot.committer,
		DataDir: b.TempDir(), Logger: testLogger(), MaxQueued: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	defer bot.Close()
	body := example(b, "pull_request.labeled.0").withLabel(LabelCloud).bytes(b)
	sig := sign(body, testSecret)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		bot.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
