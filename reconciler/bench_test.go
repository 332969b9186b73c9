package reconciler

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

const benchPageSize = 500

// benchFleet builds n environments with their installations created,
// stable, and their status recorded: a fleet with nothing to do.
func benchFleet(b *testing.B, n int) (*harness, *Reconciler) {
	b.Helper()
	h := newHarness(b)
	h.platform.PageSize = benchPageSize
	var list []*envs.Environment
	for i := range n {
		list = append(list, env(fmt.Sprintf("b-%05d", i)))
	}
	h.put(list...)
	r := h.reconciler(func(c *Config) { c.RequestRate, c.RequestBurst, c.Concurrency = 1e6, 1000, 32 })
	h.pass(r)
	h.settle()
	h.pass(r)
	if res := h.pass(r); res.Plan.Changes() != 0 || res.StatusWritten {
		b.Fatalf("fleet not settled: %d changes", res.Plan.Changes())
	}
	h.notes.take() // the test notifier's 10,000 "ready" notices are not the reconciler's heap
	return h, r
}

// BenchmarkIdlePass10k: a pass over 10,000 environments with nothing to
// do makes only list requests, no change and no commit.
func BenchmarkIdlePass10k(b *testing.B) {
	n := benchSize(10000)
	sampleMemory()
	h, r := benchFleet(b, n)
	head := h.statusHead()
	muts := h.mutations.Load()
	var peak uint64
	b.ReportAllocs()
	before := splitMemory(b, "idle-before")
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		reqs := h.requests.Load()
		res := h.pass(r)
		lists := h.requests.Load() - reqs // every request an idle pass makes is a list page
		if lists > int64(n/benchPageSize+1) || res.StatusWritten || res.Plan.Changes() != 0 {
			b.Fatalf("idle pass: %d requests, status written %v, %d changes", lists, res.StatusWritten, res.Plan.Changes())
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		b.ReportMetric(float64(lists), "requests/op")
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	if h.mutations.Load() != muts || h.statusHead() != head {
		b.Fatal("an idle pass changed something")
	}
	b.ReportMetric(float64(peak)/(1<<20), "heap-inuse-MiB")
	after := splitMemory(b, "idle-after")
	after.report(b, before)
}

// BenchmarkOneChangedOf10k: one environment changed among 10,000, reacted
// to through the in-process commit signal: one parse, and the time from the
// commit to the first provisioner request.
func BenchmarkOneChangedOf10k(b *testing.B) {
	n := benchSize(10000)
	sampleMemory()
	h, r := benchFleet(b, n)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	runner := &Runner{Reconciler: r, Interval: time.Hour, Commits: h.repo.Subscribe(ctx), Logger: quietLogger()}
	seen := make(chan time.Time, 16)
	f := func(*http.Request) { seen <- time.Now() }
	h.onMutation.Store(&f)
	go runner.Run(ctx)
	var total time.Duration
	b.ReportAllocs()
	before := splitMemory(b, "one-changed-before")
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("b-%05d", i%n)
		parses := h.repo.Parses()
		res, err := h.repo.Commit(h.ctx, store.Change{Message: "Bump " + name, Apply: func(tx *store.Tx) error {
			data, err := envs.Marshal(env(name, func(e *envs.Environment) { e.Spec.Installation.Version = fmt.Sprintf("10.%d.0", 6+i) }))
			tx.Write(envs.PathFor(name), data)
			return err
		}})
		committed := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-seen:
			total += at.Sub(committed)
		case <-time.After(30 * time.Second):
			b.Fatalf("no provisioner request after commit %s", res.Commit)
		}
		if p := h.repo.Parses() - parses; p != 1 {
			b.Errorf("%d parses for one changed file", p)
		}
		// Let the pass finish before the next change.
		for deadline := time.Now().Add(30 * time.Second); r.statusOfCommit(name) != res.Commit && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-commit-to-request")
	after := splitMemory(b, "one-changed-after")
	after.report(b, before)
}

// statusOfCommit is the observed commit recorded for name.
func (r *Reconciler) statusOfCommit(name string) string {
	st := r.StatusOf(name)
	if st == nil {
		return ""
	}
	return st.Status.ObservedCommit
}

// BenchmarkCreate1000Latency50ms: 1,000 creates against a provisioner that
// adds 50 ms to every call, at the default concurrency and request rate.
func BenchmarkCreate1000Latency50ms(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		h := newHarness(b, func(o *provisionersim.Options) {
			o.Faults.Latency = provisionersim.Duration(50 * time.Millisecond)
		})
		h.platform.PageSize = benchPageSize
		var list []*envs.Environment
		for i := range n {
			list = append(list, env(fmt.Sprintf("c-%04d", i)))
		}
		h.put(list...)
		cfg := h.config()
		cfg.BackoffBase, cfg.BackoffMax = 0, 0 // the defaults
		r, err := New(h.storeRep, h.platform, cfg)
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var creates []time.Time
		f := func(req *http.Request) {
			if req.Method == http.MethodPost && req.URL.Path == "/api/installations" {
				mu.Lock()
				creates = append(creates, time.Now())
				mu.Unlock()
			}
		}
		h.onMutation.Store(&f)
		b.StartTimer()
		start := time.Now()
		res := h.pass(r)
		b.StopTimer()
		if len(res.Errors) != 0 || len(creates) != n {
			b.Fatalf("%d errors, %d creates", len(res.Errors), len(creates))
		}
		sort.Slice(creates, func(i, j int) bool { return creates[i].Before(creates[j]) })
		toLast := creates[n-1].Sub(start)
		b.ReportMetric(toLast.Seconds(), "s-to-last-create")
		// Every request waits for a token, and at most a burst of them is
		// saved up before the pass, so the last create cannot arrive
		// sooner than this whatever the machine's load: a failure here is
		// a request that skipped the limiter.
		floor := time.Duration(float64(n-r.cfg.RequestBurst) / r.cfg.RequestRate * float64(time.Second))
		if toLast < floor {
			b.Errorf("last create after %s, sooner than the rate %v + burst %d allows (%s)", toLast, r.cfg.RequestRate, r.cfg.RequestBurst, floor)
		}
		// The most arrivals in any one-second window: requests the
		// scheduler held back arrive bunched on a busy machine, so this is
		// a figure to read, not a bound to fail on.
		most, j := 0, 0
		for i := range creates {
			for creates[i].Sub(creates[j]) >= time.Second {
				j++
			}
			most = max(most, i-j+1)
		}
		b.ReportMetric(float64(most), "max-creates-per-s")
		b.Logf("at most %d creates arrived in one second (rate %v + burst %d)", most, r.cfg.RequestRate, r.cfg.RequestBurst)
		b.StartTimer()
	}
}

// benchSize is n, or ENVWICK_BENCH_N when set (for profiling at a smaller
// scale).
func benchSize(n int) int {
	if v, err := strconv.Atoi(os.Getenv("ENVWICK_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return n
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it carries over better than wall time. It counts the simulator
// too, which runs in the same process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memRate is the heap profile's sampling rate in the fleet benchmarks: one
// sample per 4 KiB allocated on average, fine enough to attribute a pass's
// allocations between the reconciler and the simulator within a few
// percent.
const memRate = 4096

// sampleMemory sets the heap profile's rate; it must run before the fleet
// is built, so that what the fleet holds is sampled at the same rate.
func sampleMemory() { runtime.MemProfileRate = memRate }

// memSplit is the process's heap profile split between the simulator and
// the rest (the reconciler, its provisioner client, the envs store, git):
// they share the process, and only the rest is what envwick costs.
type memSplit struct {
	simAlloc, ownAlloc int64 // bytes allocated so far
	simInuse, ownInuse int64 // bytes in use
	// passAlloc is the part of ownAlloc made inside Reconciler.Pass (as
	// far as a stack of 32 frames shows): without the commits a benchmark
	// makes itself, as a bot would.
	passAlloc int64
}

// splitMemory reads the heap profile (after two collections, so that it is
// current) and attributes each sampled stack: to the simulator when a frame
// is the simulator's or net/http's server side (only the simulator serves
// HTTP here), else to the reconciler. With ENVWICK_BENCH_PROFILE=dir it
// also writes the allocation profile to dir/<name>.pprof, for
// go tool pprof -base.
func splitMemory(b *testing.B, name string) memSplit {
	b.Helper()
	runtime.GC()
	runtime.GC()
	if dir := os.Getenv("ENVWICK_BENCH_PROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	var m memSplit
	for i := range recs {
		rec := &recs[i]
		alloc, inuse := unsample(rec.AllocBytes, rec.AllocObjects), unsample(rec.InUseBytes(), rec.InUseObjects())
		switch sim, pass := classifyStack(rec.Stack()); {
		case sim:
			m.simAlloc += alloc
			m.simInuse += inuse
		default:
			m.ownAlloc += alloc
			m.ownInuse += inuse
			if pass {
				m.passAlloc += alloc
			}
		}
	}
	return m
}

// unsample estimates the bytes behind sampled ones, as pprof does: an
// object of size s is sampled with probability 1-exp(-s/rate).
func unsample(bytes, objects int64) int64 {
	if objects <= 0 || bytes <= 0 {
		return 0
	}
	size := float64(bytes) / float64(objects)
	return int64(float64(bytes) / (1 - math.Exp(-size/memRate)))
}

// classifyStack tells whether an allocation's stack is the simulator's,
// and whether it is inside a pass.
func classifyStack(stack []uintptr) (sim, pass bool) {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		fn := f.Function
		if strings.Contains(fn, "/reconciler/platform/provisionersim.") || strings.HasPrefix(fn, "net/http.(*conn).") ||
			strings.HasPrefix(fn, "net/http.(*response).") || strings.HasPrefix(fn, "net/http.(*chunkWriter).") ||
			strings.HasPrefix(fn, "net/http.serverHandler.") || strings.HasPrefix(fn, "net/http/httptest.") {
			return true, false
		}
		pass = pass || strings.HasSuffix(fn, "/reconciler.(*Reconciler).Pass")
		if !more {
			return false, pass
		}
	}
}

// report gives the reconciler's allocations per operation since before,
// and both heaps now.
func (m memSplit) report(b *testing.B, before memSplit) {
	b.ReportMetric(float64(m.ownAlloc-before.ownAlloc)/float64(b.N)/1e6, "own-MB/op")
	b.ReportMetric(float64(m.passAlloc-before.passAlloc)/float64(b.N)/1e6, "pass-MB/op")
	b.ReportMetric(float64(m.simAlloc-before.simAlloc)/float64(b.N)/1e6, "sim-MB/op")
	b.ReportMetric(float64(m.ownInuse)/(1<<20), "own-heap-MiB")
	b.ReportMetric(float64(m.simInuse)/(1<<20), "sim-heap-MiB")
}
