package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/envs/store/gittest"
)

// /readyz is ready when the envs repository is open and the platform
// answers, whether or not this replica leads; the platform's answer is
// cached for the TTL.
func TestReadyzWantsTheRepositoryAndThePlatform(t *testing.T) {
	var down atomic.Bool
	var calls atomic.Int32
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			http.Error(w, "", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[]")
	}))
	defer platform.Close()

	var cfg systemConfig
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.addServeFlags(fs, "127.0.0.1:0")
	cfg.Leader.addFlags(fs)
	if err := fs.Parse([]string{"--data-dir", t.TempDir(), "--repo-url", gittest.InitBare(t, t.TempDir(), "envs.git"),
		"--provisioner-url", platform.URL, "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	sys, err := buildSystem(context.Background(), &cfg, io.Discard, "readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()

	probe := func(rd *readiness) (int, string) {
		rec := httptest.NewRecorder()
		rd.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	rd := &readiness{sys: sys}
	if code, body := probe(rd); code != 200 || !strings.Contains(body, "ok serving") {
		t.Fatalf("/readyz = %d %q with the platform up; want 200 ok", code, body)
	}
	down.Store(true)
	if code, body := probe(rd); code != 503 || !strings.Contains(body, "platform") {
		t.Fatalf("/readyz = %d %q with the platform refusing; want 503 naming the platform", code, body)
	}

	// Cached: probes within the TTL do not reach the platform.
	rd = &readiness{sys: sys, ttl: time.Hour}
	down.Store(false)
	probe(rd)
	before := calls.Load()
	for range 5 {
		if code, _ := probe(rd); code != 200 {
			t.Fatalf("/readyz = %d within the TTL of a good answer", code)
		}
	}
	if n := calls.Load() - before; n != 0 {
		t.Errorf("%d platform requests within the TTL; want 0", n)
	}
}

// The Lease timings default to the usual controller values and read
// envwick durations.
func TestLeaderFlags(t *testing.T) {
	var c leaderConfig
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.addFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if c.Enabled || c.LeaseName != "envwick" || c.LeaseDuration != 15*time.Second || c.RenewDeadline != 10*time.Second || c.RetryPeriod != 2*time.Second {
		t.Errorf("defaults %+v; want off, lease envwick, 15s/10s/2s", c)
	}
	if err := fs.Parse([]string{"--leader-elect", "--leader-elect-lease-duration", "1m", "--leader-elect-namespace", "ops"}); err != nil {
		t.Fatal(err)
	}
	if !c.Enabled || c.LeaseDuration != time.Minute || c.Namespace != "ops" {
		t.Errorf("parsed %+v", c)
	}
	// Outside a cluster and without a kubeconfig the error says what to set.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	c.Kubeconfig = ""
	if _, err := c.elector(&System{}); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("elector without a cluster: %v; want an error naming --kubeconfig", err)
	}
}
