package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/envs/store"
)

// zeros is a request body of n bytes generated as it is sent: the test
// itself allocates none of it.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.left))
	clear(p[:n])
	z.left -= int64(n)
	return n, nil
}

// rss is the process's resident set size in bytes.
func rss(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS in /proc/self/status")
	return 0
}

// Every endpoint of a system with every part on refuses unsigned 100 MB
// bodies with a 4xx and without reading them: 20 at once per endpoint
// raise RSS by under 50 MB.
func TestEveryEndpointBoundsItsBody(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	remote := filepath.Join(t.TempDir(), "envs.git")
	r, err := store.Open(ctx, store.Options{Dir: remote, Committer: store.Signature{Name: "t", Email: "t@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	for k, v := range map[string]string{
		"ENVWICK_WEBHOOK_SECRET":            "push-secret",
		"ENVWICK_PROVISIONER_WEBHOOK_TOKEN": "provisioner-token",
		"ENVWICK_GITHUB_WEBHOOK_SECRET":     "bot-secret",
		"ENVWICK_GITHUB_TOKEN":              "gh-token",
		"ENVWICK_MATTERMOST_COMMAND_TOKENS": "command-token",
		"ENVWICK_MATTERMOST_ACTION_KEY":     "action-key",
		"ENVWICK_MATTERMOST_URL":            "http://127.0.0.1:1",
		"ENVWICK_GITHUB_API_URL":            "http://127.0.0.1:1/",
		"ENVWICK_MATTERMOST_BOT_TOKEN":      "bot-token",
		"ENVWICK_MATTERMOST_PUBLIC_URL":     "http://127.0.0.1:1",
		"ENVWICK_GITHUB_REPOS":              "acme/server",
		"ENVWICK_GITHUB_COMMAND_PERMISSION": "write",
	} {
		t.Setenv(k, v)
	}
	var cfg systemConfig
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.addServeFlags(fs, "127.0.0.1:0")
	if err := fs.Parse([]string{"--data-dir", t.TempDir(), "--repo-url", remote, "--platform", "provisionersim",
		"--log-level", "error", "--interval", "1h"}); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runSystem(ctx, &cfg, io.Discard, "bounds", func(_ *System, url string) { urls <- url }, nil)
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("the system did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the system did not start in 30 s")
	}
	defer func() {
		cancel()
		<-done
	}()

	endpoints := []string{"/webhooks/github", "/webhooks/github-bot", "/webhooks/provisioner",
		"/mattermost/command", "/mattermost/actions", "/metrics", "/healthz", "/readyz",
		"/", "/environments/x", "/fleet.svg", "/events", "/static/app.css", "/api/v1/environments", "/api/v1/environments/x", "/no-such-endpoint"}
	// Each endpoint exists: a bodiless POST is not a 404 (except the last).
	for _, ep := range endpoints[:len(endpoints)-1] {
		resp, err := http.Post(base+ep, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Fatalf("%s is not served", ep)
		}
	}

	const size = 100 << 20
	before := rss(t)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if v := rss(t); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	for _, ep := range endpoints {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodPost, base+ep, &zeros{left: size})
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					req.ContentLength = size // declared; the others are chunked
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "push")
				resp, err := client.Do(req)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", ep, err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode < 400 || resp.StatusCode > 499 {
					errs <- fmt.Errorf("%s answered %d, want 4xx", ep, resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	close(stop)
	<-sampled
	if grew := peak.Load() - before; grew >= 50<<20 {
		t.Errorf("RSS grew by %d MB, want under 50 MB", grew>>20)
	} else {
		t.Logf("RSS grew by at most %.1f MB", float64(grew)/(1<<20))
	}
}
