package commit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/envwick/envwick/envs/store"
)

// DefaultLedgerSize is how many delivery IDs a Ledger remembers. GitHub lets
// people redeliver webhooks for a few days; at a thousand events a day this
// is months.
const DefaultLedgerSize = 100_000

// Ledger remembers which deliveries were acted on, so that a replayed
// webhook changes nothing. With a file it survives restarts: each ID is one
// appended line (a single write, so a crash loses at most the line being
// written), and the file is compacted to the newest IDs when it grows past
// twice its size. It is a cache: every bot commit carries its delivery in a
// Delivery: trailer, and the envs repository's history, which every replica
// fetches, is the record that holds across replicas and restarts (see
// unlessDelivered).
type Ledger struct {
	mu    sync.Mutex
	seen  map[string]struct{}
	order []string // oldest first, for forgetting the oldest
	max   int
	path  string
	f     *os.File
	lines int // lines in the file, to know when to compact
}

// MemoryLedger returns a Ledger that forgets everything at exit.
func MemoryLedger() *Ledger {
	return &Ledger{seen: map[string]struct{}{}, max: DefaultLedgerSize}
}

// OpenLedger opens (creating it if needed) the ledger file at path,
// remembering at most max IDs (DefaultLedgerSize when max <= 0).
func OpenLedger(path string, max int) (*Ledger, error) {
	if max <= 0 {
		max = DefaultLedgerSize
	}
	l := &Ledger{seen: map[string]struct{}{}, max: max, path: path}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("opening delivery ledger: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading delivery ledger %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			l.lines++
			l.remember(id)
		}
	}
	if l.lines > 2*l.max {
		if err := l.compact(); err != nil {
			return nil, err
		}
	}
	l.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening delivery ledger %s: %w", path, err)
	}
	return l, nil
}

// Seen reports whether id was added before.
func (l *Ledger) Seen(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.seen[id]
	return ok
}

// Add records id; it returns false when id was there already.
func (l *Ledger) Add(id string) (bool, error) {
	id = strings.TrimSpace(id)
	if id == "" || strings.ContainsAny(id, "\r\n") {
		return false, fmt.Errorf("delivery ID %q: must be one non-empty line", id)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[id]; ok {
		return false, nil
	}
	l.remember(id)
	if l.f == nil {
		return true, nil
	}
	if _, err := l.f.WriteString(id + "\n"); err != nil {
		return true, fmt.Errorf("recording delivery %s: %w", id, err)
	}
	l.lines++
	if l.lines > 2*l.max {
		if err := l.f.Close(); err != nil {
			return true, fmt.Errorf("closing delivery ledger: %w", err)
		}
		if err := l.compact(); err != nil {
			return true, err
		}
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return true, fmt.Errorf("reopening delivery ledger: %w", err)
		}
		l.f = f
	}
	return true, nil
}

// Len returns how many IDs are remembered.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// Close closes the ledger file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func (l *Ledger) remember(id string) {
	if _, ok := l.seen[id]; ok {
		return
	}
	l.seen[id] = struct{}{}
	l.order = append(l.order, id)
	if len(l.order) > l.max {
		drop := len(l.order) - l.max
		for _, old := range l.order[:drop] {
			delete(l.seen, old)
		}
		l.order = append([]string(nil), l.order[drop:]...)
	}
}

// compact rewrites the file with the remembered IDs, atomically (write a
// temporary file, then rename over the old one).
func (l *Ledger) compact() error {
	tmp := l.path + ".tmp"
	data := strings.Join(l.order, "\n") + "\n"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return fmt.Errorf("compacting delivery ledger: %w", err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("compacting delivery ledger: %w", err)
	}
	l.lines = len(l.order)
	return nil
}

// errDelivered, returned by a change's Apply, says its delivery is already
// in the envs repository's history: another replica, or this one before a
// restart that lost its ledger, acted on it.
var errDelivered = errors.New("delivery already in the envs repository")

// unlessDelivered makes apply refuse a delivery the history it runs on
// already carries. The store runs it again on the new head after a rejected
// push, so of replicas racing with one delivery exactly one commits; the
// others get errDelivered. The ledger is only a cache in front of this.
func unlessDelivered(id string, apply func(*store.Tx) error) func(*store.Tx) error {
	if id == "" {
		return apply
	}
	return func(tx *store.Tx) error {
		if tx.Delivered(id) {
			return errDelivered
		}
		return apply(tx)
	}
}

// deliveredElsewhere reports whether a commit failed only because its
// delivery was already in the repository; it then records the delivery in
// the ledger, so the next replay stops before the repository.
func (c *Committer) deliveredElsewhere(ctx context.Context, m Meta, name string, err error) bool {
	if m.Delivery == "" || !errors.Is(err, errDelivered) {
		return false
	}
	c.record(ctx, m.Delivery)
	c.log.InfoContext(ctx, "delivery already in the envs repository; nothing done", "delivery", m.Delivery, "environment", name)
	return true
}
