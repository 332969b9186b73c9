package dashboard_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/dashboard"
)

// benchFleet is 10,000 environments, each with recorded status, and 30
// days of status history: 12 passes a day, each changing 25 environments.
func benchFleet(b *testing.B) *fixture {
	const n, days, passes, changes = 10000, 30, 12, 25
	f := newFixture(b, dashboard.Options{})
	f.mu.Lock()
	f.now = time.Now().Add(-days * 24 * time.Hour)
	f.mu.Unlock()
	files := map[string]string{}
	owners := []string{"ann", "bob", "cy", "dee", "eli", "fay", "gus", "hal"}
	for i := range n {
		name := fmt.Sprintf("env-%05d", i)
		extra := "  installation:\n    size: miniSingleton\n    version: 10.5.0"
		if i%3 == 0 {
			extra = fmt.Sprintf("  source:\n    pullRequest:\n      repository: acme/app\n      number: %d\n", i) + extra
		}
		files[name] = envFile(name, owners[i%len(owners)], extra)
	}
	f.env("Seed 10,000 environments", files)
	reasons := []string{envs.ReasonAvailable, envs.ReasonAvailable, envs.ReasonAvailable, envs.ReasonHibernated, envs.ReasonProvisioning, envs.ReasonProvisionerError}
	rnd := rand.New(rand.NewPCG(1, 2))
	var sts []*reconciler.Status
	for i := range n {
		sts = append(sts, st(fmt.Sprintf("env-%05d", i), reasons[i%len(reasons)], "", f.clock()))
	}
	f.status(sts...)
	for range days * passes {
		f.advance(time.Hour)
		var pass []*reconciler.Status
		for range changes {
			i := rnd.IntN(n)
			pass = append(pass, st(fmt.Sprintf("env-%05d", i), reasons[rnd.IntN(len(reasons))], "changed", f.clock()))
		}
		f.status(pass...)
	}
	f.mu.Lock()
	f.now = time.Now()
	f.mu.Unlock()
	return f
}

// BenchmarkDashboard measures the fleet view of 10,000 environments with
// 30 days of status history (docs/performance.md). Setup (about a minute)
// runs once; each case reports milliseconds per request.
func BenchmarkDashboard(b *testing.B) {
	f := benchFleet(b)
	t0 := time.Now()
	if code, _, _ := f.get("/"); code != http.StatusOK {
		b.Fatalf("GET / = %d", code)
	}
	b.Logf("first fleet index build: %v", time.Since(t0))
	t0 = time.Now()
	if code, _, _ := f.get("/fleet.svg"); code != http.StatusOK {
		b.Fatalf("GET /fleet.svg = %d", code)
	}
	b.Logf("first history build and chart: %v", time.Since(t0))

	timed := func(path string, firstByte bool) func(b *testing.B) {
		return func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				var first time.Time
				req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}))
				start := time.Now()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s = %d", path, res.StatusCode)
				}
				if firstByte {
					total += first.Sub(start)
				} else {
					total += time.Since(start)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/req")
		}
	}
	b.Run("fleet-page-first-byte", timed("/", true))
	b.Run("fleet-page", timed("/", false))
	b.Run("fleet-page-sorted-filtered", timed("/?sort=-activity&state=ready&q=env-0&per_page=100", false))
	b.Run("fleet-page-last-page", timed("/?page=200", false))
	b.Run("api-environments", timed("/api/v1/environments", false))
	b.Run("api-environments-1000", timed("/api/v1/environments?per_page=1000", false))
	b.Run("environment-page", timed("/environments/env-04242", false))
	b.Run("chart", timed("/fleet.svg", false))
	b.Run("rebuild-after-a-pass", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			f.advance(time.Second)
			f.status(st(fmt.Sprintf("env-%05d", b.N%10000), envs.ReasonAvailable, fmt.Sprint(time.Now().UnixNano()), f.clock()))
			b.StartTimer()
			start := time.Now()
			if code, _, _ := f.get("/"); code != http.StatusOK {
				b.Fatal(code)
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/req")
	})
}
