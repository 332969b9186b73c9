// Package provisioner is a client for the Mattermost Cloud provisioner REST
// API (v0.92): installations, their state transitions, annotations, cluster
// installation exec, status counts and webhooks. It speaks the provisioner's
// own wire format with its own small types, and serves both the real
// provisioner and the embedded simulator (reconciler/platform/provisionersim).
//
// Every call takes a context. Calls that are safe to repeat (GET, PUT,
// DELETE and the lock toggles) are retried on 5xx, 429 and transport errors
// with jittered exponential backoff, honouring Retry-After. Other POSTs
// (create, hibernate, wake up, cancel deletion, annotations, exec, webhook
// registration) are sent once: repeating them either creates a second
// object or is refused as an invalid transition, so the caller decides.
package provisioner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Options configure a Client.
type Options struct {
	// URL is the provisioner's address, e.g. http://127.0.0.1:8075. The
	// client adds /api.
	URL string
	// APIKey, when set, is sent as the x-api-key header (an API gateway in
	// front of the provisioner checks it).
	APIKey string
	// OAuth2, when set, authenticates with client credentials: a bearer
	// token fetched from TokenURL and refreshed before it expires.
	OAuth2 *clientcredentials.Config
	// Headers are extra headers sent with every request.
	Headers map[string]string
	// HTTPClient is the base client. Its Timeout should be zero: each
	// attempt is bounded by RequestTimeout instead.
	HTTPClient *http.Client
	// RequestTimeout bounds one attempt (default 30s).
	RequestTimeout time.Duration
	// Retry tunes retries of idempotent calls.
	Retry Retry
	// Observer, when set, hears about every attempt (for metrics).
	Observer Observer
	// Logger logs retries (default: discard).
	Logger *slog.Logger
}

// Retry tunes retries of idempotent calls.
type Retry struct {
	// MaxAttempts is the number of attempts including the first (default
	// 4; 1 disables retries).
	MaxAttempts int
	// BaseDelay is the first backoff (default 100ms); it doubles per retry,
	// with jitter, up to MaxDelay (default 5s).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps how long a server's Retry-After is honoured
	// (default 30s).
	MaxRetryAfter time.Duration
}

// Observer hears about every HTTP attempt, so callers can export API-call
// metrics without this package depending on a metrics library.
type Observer interface {
	ObserveRequest(ctx context.Context, info RequestInfo)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, info RequestInfo)

// ObserveRequest calls f.
func (f ObserverFunc) ObserveRequest(ctx context.Context, info RequestInfo) { f(ctx, info) }

// RequestInfo describes one HTTP attempt.
type RequestInfo struct {
	Method string
	// Route is the route template, e.g. /api/installation/{id}: bounded
	// cardinality for metric labels.
	Route string
	// StatusCode is 0 when no response arrived.
	StatusCode int
	Duration   time.Duration
	// Attempt counts from 1.
	Attempt int
	// Err is the transport error, if any.
	Err error
}

// Client talks to one provisioner. It is safe for concurrent use.
type Client struct {
	base    string
	http    *http.Client
	headers http.Header
	timeout time.Duration
	retry   Retry
	obs     Observer
	log     *slog.Logger
	// bodies holds answer buffers for reuse: a list page is half a
	// megabyte, read every pass.
	bodies sync.Pool
}

// New returns a client for the provisioner at opts.URL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(opts.URL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("provisioner URL %q: want scheme://host[:port]", opts.URL)
	}
	hc := opts.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: t}
	}
	if opts.OAuth2 != nil {
		// The token endpoint is called with the same base client.
		tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hc = &http.Client{
			Transport:     &oauth2.Transport{Source: opts.OAuth2.TokenSource(tokenCtx), Base: base},
			CheckRedirect: hc.CheckRedirect,
			Jar:           hc.Jar,
			Timeout:       hc.Timeout,
		}
	}
	h := http.Header{}
	for k, v := range opts.Headers {
		h.Set(k, v)
	}
	if opts.APIKey != "" {
		h.Set("x-api-key", opts.APIKey)
	}
	r := opts.Retry
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 4
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 100 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 5 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 30 * time.Second
	}
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		base: u.String() + "/api", http: hc, headers: h, timeout: timeout,
		retry: r, obs: opts.Observer, log: logger,
	}, nil
}

// URL returns the provisioner address the client talks to (without /api).
func (c *Client) URL() string { return strings.TrimSuffix(c.base, "/api") }

// call is one API call.
type call struct {
	method string
	route  string // template, for errors and metrics
	path   string // below /api, escaped
	query  url.Values
	body   any
	// idempotent calls are retried.
	idempotent bool
	// transition marks a request for a state change whose body is valid: a
	// 400 then means the state does not allow it.
	transition bool
	// create marks the installation create: a 409 means the name is taken.
	create bool
	// out receives the decoded JSON answer; raw receives the body as is;
	// read is handed the body, valid only until it returns.
	out  any
	raw  *[]byte
	read func(body []byte) error
}

func (c *Client) do(ctx context.Context, cl call) error {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("encoding %s %s: %w", cl.method, cl.route, err)
		}
	}
	target := c.base + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	attempts := 1
	if cl.idempotent {
		attempts = c.retry.MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		retryAfter, err := c.attempt(ctx, cl, target, payload, attempt)
		if err == nil {
			return nil
		}
		if attempt >= attempts || !retryable(ctx, err) {
			return err
		}
		delay := c.backoff(attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return err
		}
		c.log.DebugContext(ctx, "retrying provisioner call", "method", cl.method, "route", cl.route,
			"attempt", attempt, "delay", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retry abandoned: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// attempt sends one request. It returns the server's Retry-After, if any.
func (c *Client) attempt(ctx context.Context, cl call, target string, payload []byte, n int) (time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, body)
	if err != nil {
		return 0, fmt.Errorf("building %s %s: %w", cl.method, cl.route, err)
	}
	for k, v := range c.headers {
		req.Header[k] = v
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")

	start := time.Now()
	resp, err := c.http.Do(req)
	info := RequestInfo{Method: cl.method, Route: cl.route, Attempt: n, Err: err}
	if err != nil {
		info.Duration = time.Since(start)
		c.observe(ctx, info)
		var tokenErr *oauth2.RetrieveError
		if errors.As(err, &tokenErr) {
			return 0, fmt.Errorf("%s %s: fetching OAuth2 token: %w: %w", cl.method, cl.route, ErrUnauthorized, tokenErr)
		}
		return 0, &transportError{method: cl.method, route: cl.route, err: err}
	}
	defer resp.Body.Close()
	buf, _ := c.bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer c.bodies.Put(buf)
	buf.Reset()
	_, readErr := buf.ReadFrom(io.LimitReader(resp.Body, 64<<20))
	data := buf.Bytes() // valid until the buffer goes back: decoded or copied below
	info.StatusCode = resp.StatusCode
	info.Duration = time.Since(start)
	c.observe(ctx, info)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(data[:min(len(data), 4096)]))
		apiErr := newAPIError(cl.method, cl.route, resp.StatusCode, msg, cl.transition, cl.create)
		apiErr.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if cl.raw != nil {
			*cl.raw = bytes.Clone(data)
		}
		return apiErr.RetryAfter, apiErr
	}
	if readErr != nil {
		return 0, &transportError{method: cl.method, route: cl.route, err: fmt.Errorf("reading answer: %w", readErr)}
	}
	if cl.raw != nil {
		*cl.raw = bytes.Clone(data)
	}
	if cl.out != nil {
		if err := json.Unmarshal(data, cl.out); err != nil {
			return 0, fmt.Errorf("decoding answer to %s %s: %w", cl.method, cl.route, err)
		}
	}
	if cl.read != nil {
		if err := cl.read(data); err != nil {
			return 0, fmt.Errorf("decoding answer to %s %s: %w", cl.method, cl.route, err)
		}
	}
	return 0, nil
}

func (c *Client) observe(ctx context.Context, info RequestInfo) {
	if c.obs != nil {
		c.obs.ObserveRequest(ctx, info)
	}
}

// transportError is a failure to get an answer (connection refused, reset,
// per-attempt timeout). Retryable for idempotent calls.
type transportError struct {
	method, route string
	err           error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("provisioner %s %s: %v", e.method, e.route, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusTooManyRequests ||
			(apiErr.StatusCode >= 500 && apiErr.StatusCode != http.StatusNotImplemented)
	}
	return false
}

// backoff is the delay before retry number attempt: the server's
// Retry-After when given (capped), else exponential from BaseDelay with
// "equal jitter" (half fixed, half random) so that many clients spread out.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.retry.MaxRetryAfter)
	}
	d := c.retry.BaseDelay << min(attempt-1, 30)
	if d <= 0 || d > c.retry.MaxDelay {
		d = c.retry.MaxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

// parseRetryAfter reads a Retry-After value: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// pathID escapes an ID or name for use in a path.
func pathID(s string) string { return url.PathEscape(s) }
