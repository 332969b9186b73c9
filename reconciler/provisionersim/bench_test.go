package provisionersim

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/provisioner"
)

// BenchmarkAPIRequests measures the simulator's API throughput on loopback
// through the real client: a reconciler-like mix of reads (get one
// installation, a page of 100, status counts) and writes (patches that
// move installations to update-requested and back), from 8 concurrent
// callers, with the default progression running and state persisted to a
// data directory. The figure that matters is requests/s.
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

	var n, failed atomic.Int64
	b.SetParallelism(4) // 4 x GOMAXPROCS callers
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			id := ids[(i*7919+int(n.Load()))%seeded]
			var err error
			switch i % 10 {
			case 0:
				_, err = c.ListInstallations(ctx, provisioner.ListOptions{Page: i % 10, PerPage: 100})
			case 1:
				_, err = c.GetInstallationsStatus(ctx)
			case 2:
				_, err = c.UpdateInstallation(ctx, id, provisioner.PatchInstallationRequest{Version: ptr(fmt.Sprintf("10.%d.0", i%5))})
			default:
				_, err = c.GetInstallation(ctx, id)
			}
			if err != nil && !isTransitionRace(err) {
				failed.Add(1)
			}
			n.Add(1)
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), n.Load())
	}
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "requests/s")
}

// isTransitionRace: a patch that lands while its installation is still
// updating from a previous patch is refused by the state machine; that is
// the expected answer, not a failure.
func isTransitionRace(err error) bool {
	return provisioner.StatusCode(err) == 400
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
