package provisioner_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

type triggers struct {
	mu      sync.Mutex
	reasons []string
}

func (t *triggers) Trigger(reason string) {
	t.mu.Lock()
	t.reasons = append(t.reasons, reason)
	t.mu.Unlock()
}

func (t *triggers) list() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.reasons...)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

const installationEvent = `{"event_id":"e1","id":"inst1","type":"installation","new_state":"stable","old_state":"creation-final-tasks"}`

func TestProvisionerWebhookTriggers(t *testing.T) {
	tr := &triggers{}
	srv := httptest.NewServer(&provisioner.WebhookReceiver{Trigger: tr, Logger: quiet(), Token: "s3cret"})
	defer srv.Close()
	for _, body := range []string{
		installationEvent,
		`{"event_id":"e2","id":"c1","type":"cluster","new_state":"stable","old_state":"provisioning"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set(provisioner.WebhookTokenHeader, "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	if got := tr.list(); len(got) != 1 || got[0] != "installation inst1 creation-final-tasks -> stable" {
		t.Errorf("triggers %v", got)
	}
}

// Without the configured token nothing is triggered, and a receiver with
// no token configured refuses everyone.
func TestProvisionerWebhookNeedsTheToken(t *testing.T) {
	for _, tc := range []struct {
		name, configured, sent string
		want                   int
	}{
		{"no token sent", "s3cret", "", http.StatusUnauthorized},
		{"wrong token", "s3cret", "s3cre", http.StatusUnauthorized},
		{"none configured", "", "", http.StatusUnauthorized},
		{"too large", "s3cret", "s3cret", http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &triggers{}
			srv := httptest.NewServer(&provisioner.WebhookReceiver{Trigger: tr, Logger: quiet(), Token: tc.configured})
			defer srv.Close()
			body := []byte(installationEvent)
			if tc.want == http.StatusRequestEntityTooLarge {
				body = append(body, bytes.Repeat([]byte(" "), 1<<20)...)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
			if tc.sent != "" {
				req.Header.Set(provisioner.WebhookTokenHeader, tc.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || len(tr.list()) != 0 {
				t.Errorf("status %d, triggers %v: want %d and none", resp.StatusCode, tr.list(), tc.want)
			}
		})
	}
}

// RegisterWebhook registers the token as a header, so the provisioner's
// (here the simulator's) deliveries get through.
func TestRegisteredWebhookCarriesTheToken(t *testing.T) {
	client := simClient(t)
	p := &provisioner.Platform{Client: client, Domain: "hooks.test"}
	tr := &triggers{}
	srv := httptest.NewServer(p.WebhookHandler(tr, quiet(), "tok-1"))
	defer srv.Close()
	if err := p.RegisterWebhook(t.Context(), "envwick", srv.URL+"/webhooks/provisioner", "tok-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateInstallation(t.Context(), platform.InstallationRequest{Name: "hooked", OwnerID: "envwick", Size: "miniSingleton",
		Database: provisioner.DatabasePerseus, Filestore: provisioner.FilestoreBifrost, Affinity: provisioner.AffinityMultiTenant}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(tr.list()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no delivery got through with the registered token")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// changes also takes an installation's change as such.
type changes struct {
	triggers
	changed []string
}

func (c *changes) InstallationChanged(id, from, to string) {
	c.mu.Lock()
	c.changed = append(c.changed, id+" "+from+" "+to)
	c.mu.Unlock()
}

func TestProvisionerWebhookNamesTheInstallation(t *testing.T) {
	c := &changes{}
	srv := httptest.NewServer(&provisioner.WebhookReceiver{Trigger: c, Logger: quiet(), Token: "s3cret"})
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(installationEvent))
	req.Header.Set(provisioner.WebhookTokenHeader, "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(c.changed) != 1 || c.changed[0] != "inst1 creation-final-tasks stable" || len(c.reasons) != 0 {
		t.Errorf("changes %v, triggers %v", c.changed, c.reasons)
	}
}
