package provisionersim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAPIRequests measures the simulator's API throughput on loopback:
// a reconciler-like mix of reads (get one installation, a page of 100,
// status counts) and writes (patches that move installations to
// update-requested and back, with the default progression running and the
// state persisted to a data directory), from 8 concurrent callers. The
// load is plain HTTP that reads and discards the answers, so the figure
// (requests/s) is the simulator's, not a client's JSON decoding.
func BenchmarkAPIRequests(b *testing.B) {
	ctx := context.Background()
	sim, c := startSim(b, Options{DataDir: b.TempDir(), Timing: &Timing{Update: 50 * time.Millisecond}})
	const seeded = 1000
	ids := make([]string, seeded)
	for i := range ids {
		in, err := c.CreateInstallation(ctx, request(fmt.Sprintf("bench-%04d", i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = in.ID
	}
	sim.Advance(time.Minute)
	base := sim.URL() + "/api"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	var n, failed atomic.Int64
	b.SetParallelism(4) // 4 x GOMAXPROCS callers
	b.ResetTimer()
	start, cpuStart := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			id := ids[(i*7919+int(n.Load()))%seeded]
			var req *http.Request
			switch i % 10 {
			case 0:
				req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("%s/installations?page=%d&per_page=100", base, i%10), nil)
			case 1:
				req, _ = http.NewRequest(http.MethodGet, base+"/installations/status", nil)
			case 2:
				req, _ = http.NewRequest(http.MethodPut, base+"/installation/"+id+"/mattermost",
					strings.NewReader(fmt.Sprintf(`{"Version":"10.%d.0"}`, i%5)))
			default:
				req, _ = http.NewRequest(http.MethodGet, base+"/installation/"+id, nil)
			}
			resp, err := hc.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// 400: a patch landed while its installation was still
			// updating from a previous one; the state machine refuses
			// that, as it should.
			if resp.StatusCode >= 300 && resp.StatusCode != http.StatusBadRequest {
				failed.Add(1)
			}
			n.Add(1)
		}
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), n.Load())
	}
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "requests/s")
	// On a shared machine the wall-clock rate depends on the neighbours;
	// requests per CPU-second (load generator included) does not.
	b.ReportMetric(float64(n.Load())/cpu.Seconds(), "requests/cpu-s")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGetInstallation is the cheapest call: one GET.
func BenchmarkGetInstallation(b *testing.B) {
	ctx := context.Background()
	_, c := startSim(b, Options{DisableSupervisors: true})
	in, err := c.CreateInstallation(ctx, request("single"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetInstallation(ctx, in.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
}
