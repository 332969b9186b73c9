package githubbot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The webhook reply must be quick (GitHub gives up after 10 s) but a commit
// waits for a push, so the endpoint accepts an event into a queue and
// replies 202; lanes work the queue. The queue is:
//
//   - durable: with a data directory each accepted event is first written to
//     a spool file, removed only once handled, and a restart handles what is
//     left in the spool, in arrival order;
//   - ordered per pull request: events of one pull request go to one lane,
//     in arrival order, so "labeled" is never overtaken by "unlabeled";
//   - parallel across pull requests: many lanes commit at once, and the store
//     pushes the commits that arrive during a push together;
//   - bounded: beyond MaxQueued events the endpoint answers 503 rather than
//     accept what it might not keep.

// DefaultLanes is how many events are handled at once.
const DefaultLanes = 64

// DefaultMaxQueued bounds the events accepted but not yet handled.
const DefaultMaxQueued = 10_000

// job is one accepted event.
type job struct {
	Seq      uint64    `json:"seq"`
	Event    string    `json:"event"`
	Delivery string    `json:"delivery"`
	Key      string    `json:"key"`
	Payload  []byte    `json:"-"`
	Received time.Time `json:"received"`

	file string
}

// A spool file is one line of JSON with the job's metadata, then the
// payload as received: re-encoding a 30 KB payload inside JSON would cost
// more than the rest of accepting it.
func encodeHead(j *job) ([]byte, error) {
	meta := *j
	meta.Payload = nil
	head, err := json.Marshal(meta)
	return append(head, '\n'), err
}

func decodeJob(data []byte) (*job, error) {
	head, payload, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return nil, errors.New("no payload")
	}
	var j job
	if err := json.Unmarshal(head, &j); err != nil {
		return nil, err
	}
	if !json.Valid(payload) {
		return nil, errors.New("payload cut short")
	}
	j.Payload = payload
	return &j, nil
}

// errQueueFull: the queue holds MaxQueued events.
var errQueueFull = errors.New("event queue full")

type queue struct {
	// ingress is the webhook requests being accepted right now; workers
	// give way to them (see work).
	ingress ingressGate

	dir     string
	max     int
	handle  func(context.Context, *job) error
	log     *slog.Logger
	retries []time.Duration

	mu    sync.Mutex
	seq   uint64
	lanes *lanes[*job]
}

func newQueue(dir string, lanes, maxQueued int, handle func(context.Context, *job) error, log *slog.Logger) (*queue, error) {
	q := &queue{dir: dir, max: maxQueued, handle: handle, log: log, lanes: newLanes[*job](lanes),
		// About 45 minutes in all: long enough to ride out a git host's
		// or GitHub's outage, after which a person should look.
		retries: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}}
	if dir == "" {
		return q, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "failed"), 0o755); err != nil {
		return nil, fmt.Errorf("creating event spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading event spool: %w", err)
	}
	// File names start with a zero-padded sequence number: name order is
	// arrival order.
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading spooled event: %w", err)
		}
		j, err := decodeJob(data)
		if err != nil {
			// A file cut short by a crash while it was written was never
			// acknowledged to GitHub; set it aside.
			log.Warn("spooled event unreadable; set aside", "file", p, "error", err)
			_ = os.Rename(p, filepath.Join(dir, "failed", e.Name()))
			continue
		}
		j.file = p
		q.seq = max(q.seq, j.Seq)
		q.push(j)
	}
	return q, nil
}

// add accepts an event: spooled first when durable, then queued.
func (q *queue) add(j *job) error {
	if q.lanes.len() >= q.max {
		return errQueueFull
	}
	q.mu.Lock()
	q.seq++
	j.Seq = q.seq
	q.mu.Unlock()
	if q.dir != "" {
		head, err := encodeHead(j)
		if err != nil {
			return fmt.Errorf("spooling event: %w", err)
		}
		// Written in place, without a rename: a file cut short by a crash
		// was never acknowledged, and decodeJob recognises it (the payload
		// is not complete JSON) so that it is set aside at the restart.
		j.file = filepath.Join(q.dir, fmt.Sprintf("%020d-%s.json", j.Seq, safeFileName(j.Delivery)))
		if err := writeNew(j.file, head, j.Payload); err != nil {
			return fmt.Errorf("spooling event: %w", err)
		}
		// The payload is read back from the spool when the event is
		// handled, so the request's buffer can serve the next request.
		j.Payload = nil
	}
	q.push(j)
	return nil
}

func (q *queue) push(j *job) { q.lanes.push(j.Key, j) }

// run works the lanes until ctx ends.
func (q *queue) run(ctx context.Context) {
	q.lanes.run(ctx, func(ctx context.Context, j *job) bool {
		// Replies come first: while requests are being accepted, a worker
		// waits (up to ingressYield) before taking CPU for a commit, so a
		// burst is acknowledged quickly and committed right after.
		q.ingress.wait(ctx, ingressYield)
		// false: shutting down, and the spool keeps the event for next time.
		return q.process(ctx, j)
	})
}

// process handles one event, retrying transient failures with growing
// waits. It returns false when ctx ended first.
func (q *queue) process(ctx context.Context, j *job) bool {
	for attempt := 0; ; attempt++ {
		err := q.handle(ctx, j)
		if err == nil {
			q.done(j, "")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt >= len(q.retries) {
			q.log.ErrorContext(ctx, "event failed; set aside", "delivery", j.Delivery, "event", j.Event, "error", err)
			q.done(j, "failed")
			return true
		}
		q.log.WarnContext(ctx, "event failed; retrying", "delivery", j.Delivery, "event", j.Event, "error", err, "in", q.retries[attempt])
		t := time.NewTimer(q.retries[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// done removes the spool file, or moves it into sub to keep it for people.
func (q *queue) done(j *job, sub string) {
	if j.file == "" {
		return
	}
	var err error
	if sub == "" {
		err = os.Remove(j.file)
	} else {
		err = os.Rename(j.file, filepath.Join(q.dir, sub, filepath.Base(j.file)))
	}
	if err != nil {
		q.log.Warn("clearing spooled event", "file", j.file, "error", err)
	}
}

// wait blocks until every accepted event is handled or ctx ends.
func (q *queue) wait(ctx context.Context) error { return q.lanes.wait(ctx) }

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// ingressYield bounds how long a worker gives way to incoming requests, so
// a steady stream of webhooks cannot starve the commits. Outside bursts no
// request is in flight most of the time (one takes about a millisecond),
// and workers do not wait at all.
const ingressYield = 3 * time.Second

// ingressGate counts requests in flight and lets workers wait for a moment
// with none.
type ingressGate struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to zero
}

func (g *ingressGate) enter() {
	g.mu.Lock()
	if g.n == 0 {
		g.zero = make(chan struct{})
	}
	g.n++
	g.mu.Unlock()
}

func (g *ingressGate) leave() {
	g.mu.Lock()
	g.n--
	if g.n == 0 {
		close(g.zero)
	}
	g.mu.Unlock()
}

// wait returns once no request is in flight, after max, or when ctx ends.
func (g *ingressGate) wait(ctx context.Context, max time.Duration) {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	zero := g.zero
	g.mu.Unlock()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-zero:
	case <-t.C:
	case <-ctx.Done():
	}
}

func writeNew(path string, parts ...[]byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	return errors.Join(err, f.Close())
}

// payload returns the event's payload: kept in memory without a spool,
// read back from the spool file otherwise.
func (j *job) payload() ([]byte, error) {
	if j.Payload != nil || j.file == "" {
		return j.Payload, nil
	}
	data, err := os.ReadFile(j.file)
	if err != nil {
		return nil, err
	}
	back, err := decodeJob(data)
	if err != nil {
		return nil, err
	}
	return back.Payload, nil
}
