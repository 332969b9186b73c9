package provisioner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// newTestClient starts handler on loopback and returns a client for it with
// fast retries.
func newTestClient(t *testing.T, handler http.Handler, mod func(*Options)) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	opts := Options{URL: srv.URL, Retry: Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		status int
		call   func(c *Client) error
		is     []error
		isNot  []error
	}{
		{404, func(c *Client) error { _, err := c.GetInstallation(t.Context(), "x"); return err }, []error{ErrNotFound}, []error{ErrServer}},
		{409, func(c *Client) error {
			_, err := c.CreateInstallation(t.Context(), CreateInstallationRequest{Name: "a"})
			return err
		}, []error{ErrConflict, ErrNameInUse}, nil},
		{409, func(c *Client) error { _, err := c.HibernateInstallation(t.Context(), "x"); return err }, []error{ErrConflict}, []error{ErrNameInUse}},
		{400, func(c *Client) error { _, err := c.HibernateInstallation(t.Context(), "x"); return err }, []error{ErrBadRequest, ErrInvalidTransition}, nil},
		{400, func(c *Client) error {
			_, err := c.UpdateInstallation(t.Context(), "x", PatchInstallationRequest{Size: ptr("huge")})
			return err
		}, []error{ErrBadRequest}, []error{ErrInvalidTransition}},
		{400, func(c *Client) error {
			_, err := c.UpdateInstallation(t.Context(), "x", PatchInstallationRequest{Size: ptr("miniHA")})
			return err
		}, []error{ErrBadRequest, ErrInvalidTransition}, nil},
		{400, func(c *Client) error {
			_, err := c.CreateInstallation(t.Context(), CreateInstallationRequest{Name: "a"})
			return err
		}, []error{ErrBadRequest}, []error{ErrInvalidTransition}},
		{403, func(c *Client) error { return c.DeleteInstallation(t.Context(), "x") }, []error{ErrForbidden}, nil},
		{410, func(c *Client) error { _, err := c.ExecClusterInstallation(t.Context(), "x", "mmctl"); return err }, []error{ErrGone}, nil},
		{401, func(c *Client) error { _, err := c.GetInstallationsStatus(t.Context()); return err }, []error{ErrUnauthorized}, nil},
		{500, func(c *Client) error { _, err := c.CreateWebhook(t.Context(), CreateWebhookRequest{}); return err }, []error{ErrServer}, []error{ErrBadRequest}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, "the reason")
			}), nil)
			err := tt.call(c)
			for _, k := range tt.is {
				if !errors.Is(err, k) {
					t.Errorf("%v: want errors.Is %v", err, k)
				}
			}
			for _, k := range tt.isNot {
				if errors.Is(err, k) {
					t.Errorf("%v: want not errors.Is %v", err, k)
				}
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Message != "the reason" {
				t.Errorf("want *APIError with status %d and the server's message, got %#v", tt.status, apiErr)
			}
			if StatusCode(err) != tt.status {
				t.Errorf("StatusCode = %d", StatusCode(err))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// flaky answers fail with status for the first failures requests.
func flaky(failures int, status int, header http.Header) (http.Handler, *atomic.Int32) {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= failures {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			fmt.Fprint(w, `{"ID":"abc","State":"stable"}`)
		default:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"ID":"abc","State":"creation-requested"}`)
		}
	}), &n
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		failures  int
		status    int
		call      func(c *Client) error
		wantErr   bool
		wantCalls int32
	}{
		{"get retried on 503", 2, 503, func(c *Client) error { _, err := c.GetInstallation(t.Context(), "abc"); return err }, false, 3},
		{"get retried on 429", 1, 429, func(c *Client) error { _, err := c.GetInstallation(t.Context(), "abc"); return err }, false, 2},
		{"get gives up after max attempts", 10, 500, func(c *Client) error { _, err := c.GetInstallation(t.Context(), "abc"); return err }, true, 4},
		{"get not retried on 404", 1, 404, func(c *Client) error { _, err := c.GetInstallation(t.Context(), "abc"); return err }, true, 1},
		{"update retried", 1, 502, func(c *Client) error {
			_, err := c.UpdateInstallation(t.Context(), "abc", PatchInstallationRequest{Version: ptr("10.5.0")})
			return err
		}, false, 2},
		{"delete retried", 1, 503, func(c *Client) error { return c.DeleteInstallation(t.Context(), "abc") }, false, 2},
		{"create never retried", 1, 503, func(c *Client) error {
			_, err := c.CreateInstallation(t.Context(), CreateInstallationRequest{Name: "a"})
			return err
		}, true, 1},
		{"hibernate never retried", 1, 500, func(c *Client) error { _, err := c.HibernateInstallation(t.Context(), "abc"); return err }, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n := flaky(tt.failures, tt.status, nil)
			c := newTestClient(t, h, nil)
			err := tt.call(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := n.Load(); got != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRetryOnTimeout(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		fmt.Fprint(w, `{"ID":"abc"}`)
	}), func(o *Options) { o.RequestTimeout = 50 * time.Millisecond })
	inst, err := c.GetInstallation(t.Context(), "abc")
	if err != nil || inst.ID != "abc" {
		t.Fatalf("got %v, %v", inst, err)
	}
	if n.Load() != 2 {
		t.Errorf("want 2 attempts, got %d", n.Load())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	h, n := flaky(1, http.StatusServiceUnavailable, http.Header{"Retry-After": {"30"}})
	c := newTestClient(t, h, func(o *Options) { o.Retry.MaxRetryAfter = 60 * time.Millisecond })
	start := time.Now()
	if _, err := c.GetInstallation(t.Context(), "abc"); err != nil {
		t.Fatal(err)
	}
	// The base delay is 1ms: only Retry-After (capped at 60ms) explains a
	// wait this long.
	if waited := time.Since(start); waited < 60*time.Millisecond {
		t.Errorf("retried after %v, want at least the capped Retry-After", waited)
	}
	if n.Load() != 2 {
		t.Errorf("want 2 attempts, got %d", n.Load())
	}
}

func TestRetryStopsAtContextDeadline(t *testing.T) {
	h, n := flaky(100, http.StatusServiceUnavailable, http.Header{"Retry-After": {"10"}})
	c := newTestClient(t, h, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err := c.GetInstallation(ctx, "abc")
	if !errors.Is(err, ErrServer) {
		t.Fatalf("want the server error, got %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("a 10s Retry-After cannot fit in a 1s deadline: want 1 attempt, got %d", n.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]time.Duration{
		"":    0,
		"7":   7 * time.Second,
		"-1":  0,
		"abc": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	c, err := New(Options{URL: "http://127.0.0.1:1", Retry: Retry{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for attempt, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
		for range 50 {
			d := c.backoff(attempt, 0)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := c.backoff(1, 2*time.Second); d != 2*time.Second {
		t.Errorf("Retry-After 2s gave %v", d)
	}
}

func TestAPIKeyAndHeaders(t *testing.T) {
	var got http.Header
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		fmt.Fprint(w, `{}`)
	}), func(o *Options) {
		o.APIKey = "k3y"
		o.Headers = map[string]string{"X-Team": "qa"}
	})
	if _, err := c.GetInstallationsStatus(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got.Get("x-api-key") != "k3y" || got.Get("X-Team") != "qa" {
		t.Errorf("headers sent: %v", got)
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	var tokens atomic.Int32
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		id, secret, _ := r.BasicAuth()
		if r.Form.Get("grant_type") != "client_credentials" || id != "envwick" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(tokenSrv.Close)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"Count":3}`)
	})

	c := newTestClient(t, api, func(o *Options) {
		o.OAuth2 = &clientcredentials.Config{ClientID: "envwick", ClientSecret: "s3cret", TokenURL: tokenSrv.URL}
	})
	for range 3 {
		n, err := c.CountInstallations(t.Context(), false)
		if err != nil || n != 3 {
			t.Fatalf("count = %d, %v", n, err)
		}
	}
	if tokens.Load() != 1 {
		t.Errorf("token fetched %d times, want once", tokens.Load())
	}

	bad := newTestClient(t, api, func(o *Options) {
		o.OAuth2 = &clientcredentials.Config{ClientID: "envwick", ClientSecret: "wrong", TokenURL: tokenSrv.URL}
	})
	_, err := bad.CountInstallations(t.Context(), false)
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad credentials: want ErrUnauthorized, got %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "wrong") {
		t.Errorf("error leaks the secret: %v", err)
	}
}

// pagingServer serves n installations and counts list requests.
func pagingServer(t *testing.T, n int) (http.Handler, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		q := r.URL.Query()
		page, _ := strconv.Atoi(q.Get("page"))
		perPage, _ := strconv.Atoi(q.Get("per_page"))
		if q.Get("owner") != "me" {
			t.Errorf("owner filter not sent: %s", r.URL.RawQuery)
		}
		start := min(page*perPage, n)
		end := min(start+perPage, n)
		list := make([]Installation, 0, end-start)
		for i := start; i < end; i++ {
			list = append(list, Installation{ID: fmt.Sprintf("i%05d", i)})
		}
		json.NewEncoder(w).Encode(list)
	}), &requests
}

func TestListAllPages(t *testing.T) {
	tests := []struct {
		total, perPage int
		wantRequests   int32
	}{
		{0, 100, 1},
		{99, 100, 1},
		{250, 100, 3},
		{1000, 300, 4},
		{1000, 100, 11}, // a full last page needs one empty page to confirm the end
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.total, tt.perPage), func(t *testing.T) {
			h, requests := pagingServer(t, tt.total)
			c := newTestClient(t, h, nil)
			all, err := c.ListAllInstallations(t.Context(), ListOptions{OwnerID: "me", PerPage: tt.perPage})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != tt.total {
				t.Fatalf("got %d installations, want %d", len(all), tt.total)
			}
			seen := map[string]bool{}
			for _, i := range all {
				seen[i.ID] = true
			}
			if len(seen) != tt.total {
				t.Errorf("duplicates in listing: %d distinct", len(seen))
			}
			if requests.Load() != tt.wantRequests {
				t.Errorf("%d requests, want %d", requests.Load(), tt.wantRequests)
			}
		})
	}
}

func TestObserverSeesEveryAttempt(t *testing.T) {
	var mu sync.Mutex
	var infos []RequestInfo
	h, _ := flaky(1, 503, nil)
	c := newTestClient(t, h, func(o *Options) {
		o.Observer = ObserverFunc(func(_ context.Context, info RequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			infos = append(infos, info)
		})
	})
	if _, err := c.GetInstallation(t.Context(), "abcdefghijklmnopqrstuvwxyz"); err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 {
		t.Fatalf("observed %d attempts, want 2", len(infos))
	}
	for i, want := range []int{503, 200} {
		got := infos[i]
		if got.Route != "/api/installation/{id}" || got.Method != "GET" || got.StatusCode != want || got.Attempt != i+1 {
			t.Errorf("attempt %d observed as %+v", i+1, got)
		}
	}
}

func TestWireFormat(t *testing.T) {
	var body map[string]any
	var path string
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.Method + " " + r.URL.Path
		data, _ := io.ReadAll(r.Body)
		body = nil
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("body %q: %v", data, err)
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"ID":"abc","MattermostEnv":{"A":{"value":"1"}},"DNSRecords":[{"DomainName":"x.example.com","IsPrimary":true}],"CreateAt":1700000000123}`)
	}), nil)

	inst, err := c.CreateInstallation(t.Context(), CreateInstallationRequest{
		Name: "x", OwnerID: "me", DNSNames: []string{"x.example.com"},
		MattermostEnv: EnvFromStrings(map[string]string{"MM_FOO": "bar"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if path != "POST /api/installations" {
		t.Errorf("sent %s", path)
	}
	env, _ := body["MattermostEnv"].(map[string]any)
	if v, _ := env["MM_FOO"].(map[string]any); v["value"] != "bar" {
		t.Errorf("env sent as %v", body["MattermostEnv"])
	}
	if body["Name"] != "x" || body["OwnerID"] != "me" {
		t.Errorf("keys are not PascalCase: %v", body)
	}
	if inst.MattermostEnv["A"].Value != "1" || inst.SiteURL() != "https://x.example.com" ||
		inst.Created().UnixMilli() != 1700000000123 {
		t.Errorf("decoded %+v", inst)
	}

	// A patch sends nil env maps as null (leave alone) and empty ones as {}
	// (clear).
	if _, err := c.UpdateInstallation(t.Context(), "abc", PatchInstallationRequest{MattermostEnv: EnvVarMap{}}); err != nil {
		t.Fatal(err)
	}
	if path != "PUT /api/installation/abc/mattermost" {
		t.Errorf("sent %s", path)
	}
	if m, ok := body["MattermostEnv"].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("empty env map sent as %#v", body["MattermostEnv"])
	}
	if body["PriorityEnv"] != nil {
		t.Errorf("nil env map sent as %#v", body["PriorityEnv"])
	}
	if _, ok := body["Version"]; ok {
		t.Errorf("unset field sent: %v", body)
	}
}

// The provisioner merges a group's configuration into the installations it
// returns unless told not to. The reconciler compares an installation's own
// settings with the environment file, so reads ask for those alone.
func TestReadsAskForOwnConfigOnly(t *testing.T) {
	queries := make(chan url.Values, 4)
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.Query()
		if strings.HasPrefix(r.URL.Path, "/api/installation/") {
			fmt.Fprint(w, `{"ID":"abc"}`)
			return
		}
		fmt.Fprint(w, `[]`)
	}), nil)

	tests := []struct {
		name      string
		read      func() error
		wantGroup string
	}{
		{"list", func() error { _, err := c.ListInstallations(t.Context(), ListOptions{GroupID: "g"}); return err }, "false"},
		{"get", func() error { _, err := c.GetInstallation(t.Context(), "abc"); return err }, "false"},
		{"list with group config", func() error {
			_, err := c.ListInstallations(t.Context(), ListOptions{IncludeGroupConfig: true})
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.read(); err != nil {
				t.Fatal(err)
			}
			q := <-queries
			if got := q.Get("include_group_config"); got != tt.wantGroup {
				t.Errorf("include_group_config = %q, want %q", got, tt.wantGroup)
			}
			if got := q.Get("include_group_config_overrides"); got != tt.wantGroup {
				t.Errorf("include_group_config_overrides = %q, want %q", got, tt.wantGroup)
			}
		})
	}
}
