package githubbot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v57/github"
)

// Access says how the bot authenticates to GitHub: a GitHub App (preferred:
// short-lived installation tokens, per-installation rate limits) or a
// personal access token.
type Access struct {
	// BaseURL is the REST API root; default https://api.github.com/.
	BaseURL string
	// Token is a personal access token (token mode).
	Token string
	// AppID and PrivateKey (PEM) select GitHub App mode.
	AppID      int64
	PrivateKey []byte
	// InstallationID is used when an event names no installation and the
	// repository's installation cannot be looked up.
	InstallationID int64
	// MaxRetries bounds retries after rate limiting (default 3);
	// MaxRetryWait is the longest wait the bot accepts before giving up on a
	// request (default 2 minutes).
	MaxRetries   int
	MaxRetryWait time.Duration
	// Transport under everything; default http.DefaultTransport.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Clients hands out a go-github client for a repository: in token mode one
// shared client, in App mode one per installation.
type Clients struct {
	access Access
	base   http.RoundTripper // rate-limit aware

	mu      sync.Mutex
	byInst  map[int64]*gh.Client
	repoIns map[string]int64
	apps    *gh.Client // app JWT client, to find a repository's installation
	token   *gh.Client
}

// NewClients checks access and prepares clients.
func NewClients(a Access) (*Clients, error) {
	if a.BaseURL == "" {
		a.BaseURL = "https://api.github.com/"
	}
	if !strings.HasSuffix(a.BaseURL, "/") {
		a.BaseURL += "/"
	}
	if a.MaxRetries == 0 {
		a.MaxRetries = 3
	}
	if a.MaxRetryWait == 0 {
		a.MaxRetryWait = 2 * time.Minute
	}
	if a.Transport == nil {
		a.Transport = http.DefaultTransport
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	c := &Clients{
		access:  a,
		base:    &rateLimitTransport{next: a.Transport, maxRetries: a.MaxRetries, maxWait: a.MaxRetryWait, log: a.Logger},
		byInst:  map[int64]*gh.Client{},
		repoIns: map[string]int64{},
	}
	switch {
	case a.AppID != 0:
		if len(a.PrivateKey) == 0 {
			return nil, fmt.Errorf("github app %d: a private key is required", a.AppID)
		}
		atr, err := ghinstallation.NewAppsTransport(c.base, a.AppID, a.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("github app %d: reading private key: %w", a.AppID, err)
		}
		atr.BaseURL = strings.TrimSuffix(a.BaseURL, "/")
		apps, err := withBase(&http.Client{Transport: atr}, a.BaseURL)
		if err != nil {
			return nil, err
		}
		c.apps = apps
	case a.Token != "":
		tok, err := withBase(&http.Client{Transport: &tokenTransport{token: a.Token, next: c.base}}, a.BaseURL)
		if err != nil {
			return nil, err
		}
		c.token = tok
	default:
		return nil, fmt.Errorf("github access: set a token or a GitHub App ID and private key")
	}
	return c, nil
}

func withBase(hc *http.Client, base string) (*gh.Client, error) {
	cl, err := gh.NewClient(hc).WithEnterpriseURLs(base, base)
	if err != nil {
		return nil, fmt.Errorf("github base URL %q: %w", base, err)
	}
	// WithEnterpriseURLs appends api/v3/ to hosts other than api.github.com;
	// the configured URL is the API root as given.
	cl.BaseURL, _ = cl.BaseURL.Parse(base)
	return cl, nil
}

// Remember notes the installation an event came through, so that feedback
// for the repository uses it without a lookup.
func (c *Clients) Remember(repo string, installation int64) {
	if installation == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.repoIns[strings.ToLower(repo)] = installation
}

// For returns the client to act on repo ("owner/name") with.
func (c *Clients) For(ctx context.Context, repo string) (*gh.Client, error) {
	if c.token != nil {
		return c.token, nil
	}
	c.mu.Lock()
	inst := c.repoIns[strings.ToLower(repo)]
	c.mu.Unlock()
	if inst == 0 {
		owner, name, _ := strings.Cut(repo, "/")
		in, _, err := c.apps.Apps.FindRepositoryInstallation(ctx, owner, name)
		switch {
		case err == nil:
			inst = in.GetID()
			c.Remember(repo, inst)
		case c.access.InstallationID != 0:
			inst = c.access.InstallationID
		default:
			return nil, fmt.Errorf("finding the app installation for %s: %w", repo, err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.byInst[inst]; ok {
		return cl, nil
	}
	itr, err := ghinstallation.New(c.base, c.access.AppID, inst, c.access.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app installation %d: %w", inst, err)
	}
	itr.BaseURL = strings.TrimSuffix(c.access.BaseURL, "/")
	cl, err := withBase(&http.Client{Transport: itr}, c.access.BaseURL)
	if err != nil {
		return nil, err
	}
	c.byInst[inst] = cl
	return cl, nil
}

type tokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// rateLimitTransport waits and retries when GitHub says to slow down:
// primary limits (403/429 with X-RateLimit-Remaining: 0, until
// X-RateLimit-Reset), secondary limits and 429s (Retry-After, or a minute
// when GitHub gives no time). Waits longer than maxWait are not taken: the
// caller gets GitHub's answer.
type rateLimitTransport struct {
	next       http.RoundTripper
	maxRetries int
	maxWait    time.Duration
	log        *slog.Logger
	now        func() time.Time
}

func (t *rateLimitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil && r.GetBody == nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	for attempt := 0; ; attempt++ {
		req := r
		switch {
		case body != nil:
			req = r.Clone(r.Context())
			req.Body = io.NopCloser(bytes.NewReader(body))
		case r.GetBody != nil && attempt > 0:
			b, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			req = r.Clone(r.Context())
			req.Body = b
		}
		resp, err := t.next.RoundTrip(req)
		if err != nil || attempt >= t.maxRetries {
			return resp, err
		}
		wait, limited := t.retryAfter(resp)
		if !limited || wait > t.maxWait {
			return resp, nil
		}
		t.log.WarnContext(r.Context(), "github rate limit; waiting", "path", r.URL.Path, "status", resp.StatusCode, "wait", wait, "attempt", attempt+1)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		timer := time.NewTimer(wait)
		select {
		case <-r.Context().Done():
			timer.Stop()
			return nil, r.Context().Err()
		case <-timer.C:
		}
	}
}

// retryAfter reads how long GitHub asks to wait, and whether the response
// is rate limiting at all (a 403 without rate-limit signs is a permission
// error and is returned as is).
func (t *rateLimitTransport) retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	now := time.Now
	if t.now != nil {
		now = t.now
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(n, 0).Sub(now()), 0), true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// GitHub's advice when it gives no time: wait at least a minute.
		return time.Minute, true
	}
	// A secondary limit without Retry-After says so only in its message.
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err == nil && bytes.Contains(bytes.ToLower(data), []byte("secondary rate limit")) {
		return time.Minute, true
	}
	return 0, false
}
