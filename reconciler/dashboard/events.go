package dashboard

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Event is what a live page hears when a pass records status or the
// branch people edit moves: the heads now shown and the counts by state.
type Event struct {
	Commit       string         `json:"commit"`
	StatusCommit string         `json:"statusCommit"`
	Counts       map[string]int `json:"counts"`
}

func eventOf(f *fleet) Event {
	return Event{Commit: f.main, StatusCommit: f.status, Counts: f.counts}
}

// broadcaster hands the latest event to every live connection. A slow
// connection misses intermediate events, never the latest.
type broadcaster struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

func (b *broadcaster) init() { b.subs = map[chan Event]struct{}{} }

func (b *broadcaster) subscribe() (chan Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(b.subs) >= MaxEventClients {
		return nil, false
	}
	ch := make(chan Event, 1)
	b.subs[ch] = struct{}{}
	return ch, true
}

func (b *broadcaster) unsubscribe(ch chan Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		delete(b.subs, ch)
		close(ch)
	}
}

func (b *broadcaster) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case <-ch: // drop the stale one
		default:
		}
		ch <- e
	}
}

func (b *broadcaster) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// heartbeat keeps idle connections open through proxies.
const heartbeat = 25 * time.Second

// serveEvents is the Server-Sent Events stream: an event named "status"
// each time the heads move.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch, ok := d.events.subscribe()
	if !ok {
		http.Error(w, "too many live connections", http.StatusServiceUnavailable)
		return
	}
	defer d.events.unsubscribe(ch)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			data, _ := json.Marshal(e)
			if _, err := w.Write([]byte("event: status\ndata: " + string(data) + "\n\n")); err != nil {
				return
			}
		case <-t.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
