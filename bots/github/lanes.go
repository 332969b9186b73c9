package githubbot

import (
	"context"
	"hash/fnv"
	"slices"
	"sync"
)

// lanes works items in arrival order per key and different keys in
// parallel: one goroutine per lane, a key always in the same lane. It
// counts the items not yet done, so that callers can wait until all are.
// Both the event queue (key: the pull request) and the feedback (key: the
// environment) use it.
type lanes[T any] struct {
	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed when pending is zero
	ls      []*lane[T]
}

type lane[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{}
}

func newLanes[T any](n int) *lanes[T] {
	l := &lanes[T]{idle: make(chan struct{})}
	close(l.idle)
	for range n {
		l.ls = append(l.ls, &lane[T]{signal: make(chan struct{}, 1)})
	}
	return l
}

// len returns how many items are not done yet.
func (l *lanes[T]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending
}

// push queues an item on its key's lane.
func (l *lanes[T]) push(key string, item T) {
	l.mu.Lock()
	if l.pending == 0 {
		l.idle = make(chan struct{})
	}
	l.pending++
	l.mu.Unlock()
	h := fnv.New32a()
	h.Write([]byte(key))
	ln := l.ls[h.Sum32()%uint32(len(l.ls))]
	ln.mu.Lock()
	ln.items = append(ln.items, item)
	ln.mu.Unlock()
	select {
	case ln.signal <- struct{}{}:
	default:
	}
}

// run works every lane with do until ctx ends. When do returns false
// (shutting down), its lane stops and the item stays counted as not done.
func (l *lanes[T]) run(ctx context.Context, do func(context.Context, T) bool) {
	var wg sync.WaitGroup
	for _, ln := range l.ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ln.mu.Lock()
				var item T
				ok := len(ln.items) > 0
				if ok {
					item = ln.items[0]
					ln.items = slices.Delete(ln.items, 0, 1)
				}
				ln.mu.Unlock()
				if !ok {
					select {
					case <-ctx.Done():
						return
					case <-ln.signal:
						continue
					}
				}
				if !do(ctx, item) {
					return
				}
				l.mu.Lock()
				l.pending--
				if l.pending == 0 {
					close(l.idle)
				}
				l.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// wait blocks until no item is pending or ctx ends.
func (l *lanes[T]) wait(ctx context.Context) error {
	l.mu.Lock()
	idle := l.idle
	l.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
