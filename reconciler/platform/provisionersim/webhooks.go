package provisionersim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// webhookDispatcher delivers state-change payloads fire-and-forget, as the
// provisioner does: no retries, failures only logged. Each webhook has its
// own queue and goroutine, so one slow receiver delays nobody else and each
// receiver sees its events in order.
type webhookDispatcher struct {
	// ctx ends in-flight deliveries on close, so Close never waits for a
	// slow receiver.
	ctx     context.Context
	cancel  context.CancelFunc
	log     *slog.Logger
	client  *http.Client
	mu      sync.Mutex
	targets map[string]*webhookTarget
	wg      sync.WaitGroup
}

type webhookTarget struct {
	hook  provisioner.Webhook
	queue chan provisioner.WebhookPayload
}

// webhookQueue is how many undelivered events a webhook may have before
// new ones are dropped.
const webhookQueue = 4096

func newWebhookDispatcher(log *slog.Logger) *webhookDispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &webhookDispatcher{
		ctx: ctx, cancel: cancel, log: log, client: &http.Client{Timeout: 5 * time.Second},
		targets: map[string]*webhookTarget{},
	}
}

func (d *webhookDispatcher) add(w *provisioner.Webhook) {
	t := &webhookTarget{hook: *w, queue: make(chan provisioner.WebhookPayload, webhookQueue)}
	d.mu.Lock()
	d.targets[w.ID] = t
	d.mu.Unlock()
	d.wg.Add(1)
	go d.deliver(t)
}

func (d *webhookDispatcher) remove(id string) {
	d.mu.Lock()
	t := d.targets[id]
	delete(d.targets, id)
	d.mu.Unlock()
	if t != nil {
		close(t.queue)
	}
}

func (d *webhookDispatcher) send(p provisioner.WebhookPayload) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.targets {
		select {
		case t.queue <- p:
		default:
			d.log.Warn("webhook queue full, dropping event", "webhook", t.hook.ID, "installation", p.ID, "state", p.NewState)
		}
	}
}

func (d *webhookDispatcher) close() {
	d.cancel()
	d.mu.Lock()
	for id, t := range d.targets {
		close(t.queue)
		delete(d.targets, id)
	}
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *webhookDispatcher) deliver(t *webhookTarget) {
	defer d.wg.Done()
	headers := map[string]string{}
	for _, h := range t.hook.Headers {
		switch {
		case h.Value != nil:
			headers[h.Key] = *h.Value
		case h.ValueFromEnv != nil:
			headers[h.Key] = os.Getenv(*h.ValueFromEnv)
		}
	}
	for p := range t.queue {
		body, err := json.Marshal(p)
		if err != nil {
			d.log.Error("encoding webhook payload", "error", err)
			continue
		}
		if d.ctx.Err() != nil {
			continue // closing: drop what is left
		}
		req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, t.hook.URL, bytes.NewReader(body))
		if err != nil {
			d.log.Error("building webhook request", "webhook", t.hook.ID, "error", err)
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := d.client.Do(req)
		if err != nil {
			d.log.Warn("sending webhook", "webhook", t.hook.ID, "error", err)
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
}
