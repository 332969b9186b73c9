package githubbot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

// WebhookPath is where envwick serve and dev mount the bot's webhook
// endpoint; point the GitHub App's (or repository's) webhook URL at it.
const WebhookPath = "/webhooks/github-bot"

// ActivityRecorder hears that someone used an environment (a push to its
// pull request, a command about it); reconciler.Activity implements it.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, name string, at time.Time, what string)
}

// StatusReader returns the last recorded status of an environment, for
// "/env status".
type StatusReader interface {
	EnvironmentStatus(ctx context.Context, name string) (envs.EnvironmentStatus, bool, error)
}

// Options build a Bot.
type Options struct {
	Config Config
	// GitHub is how the bot reaches GitHub.
	GitHub *Clients
	// Committer commits to the envs repository.
	Committer *commit.Committer
	// DataDir keeps the event spool, the delivery ledger and the
	// environment-to-pull-request index. Empty keeps them in memory: events
	// accepted but not yet handled are lost on a crash, and replays after a
	// restart are not recognised.
	DataDir string
	// Activity, optional, hears about pushes and commands.
	Activity ActivityRecorder
	// Status, optional, answers "/env status".
	Status StatusReader
	// Planner plans pull requests on the envs repository; without one
	// they get no check and no plan comment (commit statuses on the envs
	// repository still work).
	Planner Planner
	// Lanes and MaxQueued tune the event queue (see queue.go).
	Lanes     int
	MaxQueued int
	Logger    *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Bot is the GitHub bot: an http.Handler for webhooks, a queue of accepted
// events, and a notifier turning transitions into PR feedback.
type Bot struct {
	cfg       Config
	gh        *Clients
	committer *commit.Committer
	activity  ActivityRecorder
	status    StatusReader
	planner   Planner
	log       *slog.Logger
	now       func() time.Time

	received *commit.Ledger
	queue    *queue
	prs      *prIndex
	fb       *feedback

	handlers map[string][]namedHandler
	commands *command.Registry[envRun]

	mu      sync.Mutex
	claimed map[string]bool

	// buffers hold request bodies; a burst would otherwise allocate (and
	// zero, and collect) one payload-sized buffer per event.
	buffers sync.Pool
}

// Event is one verified, parsed webhook event.
type Event struct {
	Type     string
	Delivery string
	Received time.Time
	// Payload is the go-github event type for Type, such as
	// *github.PullRequestEvent.
	Payload any
}

// EventHandler handles one event. A returned error is retried with growing
// waits (transient, such as a push rejected by a busy remote); handlers deal
// with users' mistakes themselves, by replying.
type EventHandler func(ctx context.Context, ev *Event) error

type namedHandler struct {
	name   string
	handle EventHandler
}

// New checks the configuration and builds a Bot. It refuses to start
// without a webhook secret.
func New(opts Options) (*Bot, error) {
	cfg, err := opts.Config.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.GitHub == nil {
		return nil, errors.New("github bot: GitHub access is required")
	}
	if opts.Committer == nil {
		return nil, errors.New("github bot: a committer is required")
	}
	b := &Bot{
		cfg:       cfg,
		gh:        opts.GitHub,
		committer: opts.Committer,
		activity:  opts.Activity,
		status:    opts.Status,
		planner:   opts.Planner,
		log:       opts.Logger,
		now:       opts.Now,
		handlers:  map[string][]namedHandler{},

		claimed: map[string]bool{},
		buffers: sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.now == nil {
		b.now = time.Now
	}
	if cfg.EnvsRepository != "" && b.planner == nil {
		b.log.Warn("pull requests on the envs repository are not checked: no planner", "repository", cfg.EnvsRepository)
	}
	lanes, maxQueued := opts.Lanes, opts.MaxQueued
	if lanes <= 0 {
		lanes = DefaultLanes
	}
	if maxQueued <= 0 {
		maxQueued = DefaultMaxQueued
	}
	spool := ""
	if opts.DataDir != "" {
		if b.received, err = commit.OpenLedger(filepath.Join(opts.DataDir, "received-deliveries"), 0); err != nil {
			return nil, err
		}
		spool = filepath.Join(opts.DataDir, "spool")
	} else {
		b.received = commit.MemoryLedger()
	}
	if b.prs, err = openPRIndex(opts.DataDir); err != nil {
		return nil, err
	}
	if b.queue, err = newQueue(spool, lanes, maxQueued, b.dispatch, b.log); err != nil {
		return nil, err
	}
	b.fb = newFeedback(b)
	b.registerHandlers()
	b.commands = b.newCommands()
	return b, nil
}

// Handle registers a handler for an event type (X-GitHub-Event), Prow
// style: several small handlers may see the same event.
func (b *Bot) Handle(eventType, name string, h EventHandler) {
	b.handlers[eventType] = append(b.handlers[eventType], namedHandler{name: name, handle: h})
}

// Run works the event queue (including events spooled before a restart)
// and the feedback queue until ctx ends.
func (b *Bot) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); b.queue.run(ctx) }()
	go func() { defer wg.Done(); b.fb.run(ctx) }()
	wg.Wait()
	return nil
}

// Wait blocks until every accepted event and every queued piece of feedback
// has been handled, or ctx ends. For tests and graceful shutdown.
func (b *Bot) Wait(ctx context.Context) error {
	if err := b.queue.wait(ctx); err != nil {
		return err
	}
	return b.fb.wait(ctx)
}

// Close releases the files the bot keeps open.
func (b *Bot) Close() error {
	return errors.Join(b.received.Close(), b.prs.close())
}

// ServeHTTP is the webhook endpoint.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.queue.ingress.enter()
	defer b.queue.ingress.leave()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	// Refused before a byte of the body is read: an unsigned request, or
	// one declaring more than the cap.
	sig := r.Header.Get(gh.SHA256SignatureHeader)
	if sig == "" {
		http.Error(w, "missing "+gh.SHA256SignatureHeader+": webhooks must be signed with HMAC-SHA256", http.StatusUnauthorized)
		return
	}
	if r.ContentLength > b.cfg.MaxPayload {
		http.Error(w, fmt.Sprintf("payload larger than %d bytes", b.cfg.MaxPayload), http.StatusRequestEntityTooLarge)
		return
	}
	buf := b.buffers.Get().(*bytes.Buffer)
	defer b.putBuffer(buf)
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, b.cfg.MaxPayload)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, b.cfg.MaxPayload))
	body := buf.Bytes()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("payload larger than %d bytes", b.cfg.MaxPayload), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading payload", http.StatusBadRequest)
		return
	}
	payload, err := b.verify(r.Header.Get("Content-Type"), body, sig)
	if err != nil {
		b.log.WarnContext(r.Context(), "webhook refused: bad signature", "delivery", gh.DeliveryID(r), "remote", r.RemoteAddr)
		http.Error(w, "signature does not match", http.StatusUnauthorized)
		return
	}
	eventType, delivery := gh.WebHookType(r), gh.DeliveryID(r)
	if eventType == "" || delivery == "" {
		http.Error(w, "missing X-GitHub-Event or X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	if eventType == "ping" {
		fmt.Fprintln(w, "pong")
		return
	}
	if len(b.handlers[eventType]) == 0 {
		fmt.Fprintf(w, "event %s not handled\n", eventType)
		return
	}
	key, err := eventKey(payload)
	if err != nil {
		http.Error(w, "malformed payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !b.claim(delivery) {
		fmt.Fprintln(w, "delivery seen before; nothing done")
		return
	}
	if b.queue.dir == "" {
		// Kept in memory until handled: not the pooled buffer.
		payload = bytes.Clone(payload)
	}
	j := &job{Event: eventType, Delivery: delivery, Key: key, Payload: payload, Received: b.now()}
	err = b.queue.add(j)
	if err != nil {
		b.unclaim(delivery, false)
		status := http.StatusInternalServerError
		if errors.Is(err, errQueueFull) {
			status = http.StatusServiceUnavailable
		}
		b.log.ErrorContext(r.Context(), "webhook not accepted", "delivery", delivery, "error", err)
		http.Error(w, "not accepted: "+err.Error(), status)
		return
	}
	b.unclaim(delivery, true)
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "accepted")
}

// putBuffer returns a request buffer to the pool, unless a huge payload
// made it too big to keep.
func (b *Bot) putBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	b.buffers.Put(buf)
}

// verify checks the signature against each configured secret (two during a
// rotation) and returns the JSON payload.
func (b *Bot) verify(contentType string, body []byte, sig string) ([]byte, error) {
	var err error
	if ct, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(ct) == "application/json" {
		// The common case, without copying the body again.
		for _, s := range b.cfg.Secrets {
			if err = gh.ValidateSignature(sig, body, []byte(s)); err == nil {
				return body, nil
			}
		}
		return nil, err
	}
	for _, s := range b.cfg.Secrets {
		var payload []byte
		payload, err = gh.ValidatePayloadFromBody(contentType, bytes.NewReader(body), sig, []byte(s))
		if err == nil {
			return payload, nil
		}
	}
	return nil, err
}

// claim reserves a delivery for this request; false when it was accepted
// before (recorded in the ledger, which survives restarts) or is being
// accepted right now.
func (b *Bot) claim(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.claimed[id] || b.received.Seen(id) {
		return false
	}
	b.claimed[id] = true
	return true
}

func (b *Bot) unclaim(id string, accepted bool) {
	if accepted {
		if _, err := b.received.Add(id); err != nil {
			b.log.Warn("recording delivery", "delivery", id, "error", err)
		}
	}
	b.mu.Lock()
	delete(b.claimed, id)
	b.mu.Unlock()
}

// eventKey reads what orders events: one pull request's events are handled
// in order. It reads only the few fields it needs (the full go-github parse
// happens when the event is handled), but the whole payload must be JSON.
func eventKey(payload []byte) (string, error) {
	var p struct {
		Number int `json:"number"`
		Issue  struct {
			Number int `json:"number"`
		} `json:"issue"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s#%d", p.Repository.FullName, max(p.Number, p.Issue.Number)), nil
}

// dispatch parses a queued event again and runs its handlers.
func (b *Bot) dispatch(ctx context.Context, j *job) error {
	payload, err := j.payload()
	if err != nil {
		return fmt.Errorf("reading spooled event %s: %w", j.Delivery, err)
	}
	parsed, err := gh.ParseWebHook(j.Event, payload)
	if err != nil {
		b.log.ErrorContext(ctx, "queued event unreadable", "delivery", j.Delivery, "error", err)
		return nil
	}
	ev := &Event{Type: j.Event, Delivery: j.Delivery, Received: j.Received, Payload: parsed}
	var errs []error
	for _, h := range b.handlers[j.Event] {
		if err := h.handle(ctx, ev); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.name, err))
		}
	}
	return errors.Join(errs...)
}

func person(u *gh.User) commit.Person {
	login := u.GetLogin()
	name := u.GetName()
	if name == "" {
		name = login
	}
	email := u.GetEmail()
	if email == "" && login != "" {
		// GitHub's no-reply address attributes commits to the account
		// without exposing anyone's mail.
		email = fmt.Sprintf("%d+%s@users.noreply.github.com", u.GetID(), login)
	}
	return commit.Person{Name: name, Email: email}
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
