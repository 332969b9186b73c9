package githubbot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestQueueOrderRetryAndSetAside(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	seen := map[string][]string{} // key -> deliveries in handling order
	attempts := map[string]int{}
	handle := func(_ context.Context, j *job) error {
		p, err := j.payload()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		attempts[j.Delivery]++
		switch {
		case string(p) == `"flaky"` && attempts[j.Delivery] < 3:
			return errors.New("remote busy")
		case string(p) == `"broken"`:
			return errors.New("always")
		}
		seen[j.Key] = append(seen[j.Key], j.Delivery)
		return nil
	}
	q, err := newQueue(dir, 4, 100, handle, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	q.retries = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	add := func(key, delivery, payload string) {
		if err := q.add(&job{Event: "pull_request", Delivery: delivery, Key: key, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		add(fmt.Sprintf("repo#%d", i%3), fmt.Sprintf("d%02d", i), `"ok"`)
	}
	add("repo#9", "flaky", `"flaky"`)
	add("repo#9", "after-flaky", `"ok"`)
	add("repo#8", "broken", `"broken"`)
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := q.wait(wctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for k := range 3 {
		key := fmt.Sprintf("repo#%d", k)
		var want []string
		for i := k; i < 20; i += 3 {
			want = append(want, fmt.Sprintf("d%02d", i))
		}
		if fmt.Sprint(seen[key]) != fmt.Sprint(want) {
			t.Errorf("%s handled %v, want %v in order", key, seen[key], want)
		}
	}
	// A transient failure is retried, and the pull request's next event
	// waits for it.
	if attempts["flaky"] != 3 || fmt.Sprint(seen["repo#9"]) != "[flaky after-flaky]" {
		t.Errorf("flaky: %d attempts, order %v", attempts["flaky"], seen["repo#9"])
	}
	// An event failing every retry is set aside for people; the rest of
	// the spool is empty.
	if attempts["broken"] != 4 {
		t.Errorf("broken: %d attempts, want 4", attempts["broken"])
	}
	if failed, _ := filepath.Glob(filepath.Join(dir, "failed", "*-broken.json")); len(failed) != 1 {
		t.Errorf("set aside: %v", failed)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(left) != 0 {
		t.Errorf("spool not emptied: %v", left)
	}
}

func TestQueueFull(t *testing.T) {
	q, err := newQueue("", 1, 2, func(context.Context, *job) error { return nil }, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := q.add(&job{Delivery: fmt.Sprint(i), Payload: []byte("{}")})
		if i < 2 && err != nil || i == 2 && !errors.Is(err, errQueueFull) {
			t.Fatalf("add %d: %v", i, err)
		}
	}
}

func TestIngressGate(t *testing.T) {
	var g ingressGate
	ctx := context.Background()
	start := time.Now()
	g.wait(ctx, time.Hour) // nothing in flight: no wait
	if time.Since(start) > time.Second {
		t.Fatal("waited with nothing in flight")
	}
	g.enter()
	released := make(chan struct{})
	go func() { g.wait(ctx, time.Hour); close(released) }()
	select {
	case <-released:
		t.Fatal("a worker went ahead of a request in flight")
	case <-time.After(20 * time.Millisecond):
	}
	g.leave()
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker was not released when the request ended")
	}
	// The bound holds even while requests keep coming.
	g.enter()
	defer g.leave()
	start = time.Now()
	g.wait(ctx, 10*time.Millisecond)
	if time.Since(start) > 5*time.Second {
		t.Fatal("the wait was not bounded")
	}
}
