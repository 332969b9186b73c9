package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// BenchmarkLoad measures loading every environment at a commit of a
// repository holding 10,000 of them, in 50 folders, from a clone fetched
// over git daemon (objects in a packfile, as in production):
//   - 10k-cold: a freshly opened Repo, nothing cached: every file is read
//     and parsed;
//   - 10k-one-changed: after one file changed, with the previous commit
//     loaded (goal: exactly one parse, reported as parses/op).
func BenchmarkLoad(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	root := b.TempDir()
	d := gittest.StartDaemon(b, root)
	gittest.InitBare(b, root, "envs.git")
	url := d.URL("envs.git")
	writer := open(b, store.Options{URL: url})
	res, err := writer.Commit(ctx, store.Change{Message: "Create 10,000 environments", Apply: func(tx *store.Tx) error {
		for i := range n {
			name := fmt.Sprintf("env-%05d", i)
			tx.Write(envPath(fmt.Sprintf("team-%02d/%s", i%50, name)), envYAML(name, "jane"))
		}
		return nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	clone := filepath.Join(root, "clone")
	open(b, store.Options{URL: url, Dir: clone}).Close()

	b.Run("10k-cold", func(b *testing.B) {
		var parses int64
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			r, err := store.Open(ctx, store.Options{URL: url, Dir: clone})
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuTime()
			b.StartTimer()
			snap, err := r.Load(ctx, res.Commit)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu += cpuTime() - c0
			if len(snap.Environments) != n {
				b.Fatalf("loaded %d environments; want %d", len(snap.Environments), n)
			}
			parses += r.Parses()
			r.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(parses)/float64(b.N), "parses/op")
		b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	})

	b.Run("10k-one-changed", func(b *testing.B) {
		r := open(b, store.Options{URL: url, Dir: clone})
		if _, err := r.Load(ctx, res.Commit); err != nil {
			b.Fatal(err)
		}
		before := r.Parses()
		var cpu time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			name := fmt.Sprintf("env-%05d", i%n)
			c, err := r.Commit(ctx, store.Change{Message: "Edit " + name, Apply: func(tx *store.Tx) error {
				p, ok := tx.FindEnvironment(name)
				if !ok {
					return fmt.Errorf("%s not found", name)
				}
				tx.Write(p, envYAML(name, fmt.Sprintf("owner%d", i)))
				return nil
			}})
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuTime()
			b.StartTimer()
			if _, err := r.Load(ctx, c.Commit); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu += cpuTime() - c0
			b.StartTimer()
		}
		b.ReportMetric(float64(r.Parses()-before)/float64(b.N), "parses/op")
		b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	})
}

// cpuTime is the CPU time this process has used, user and system: on a
// shared machine it measures the work, where wall time measures the
// neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
