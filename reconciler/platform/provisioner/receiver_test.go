package provisioner_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

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

func TestProvisionerWebhookTriggers(t *testing.T) {
	tr := &triggers{}
	srv := httptest.NewServer(&provisioner.WebhookReceiver{Trigger: tr})
	defer srv.Close()
	for _, body := range []string{
		`{"event_id":"e1","id":"inst1","type":"installation","new_state":"stable","old_state":"creation-final-tasks"}`,
		`{"event_id":"e2","id":"c1","type":"cluster","new_state":"stable","old_state":"provisioning"}`,
	} {
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	if len(tr.reasons) != 1 || tr.reasons[0] != "installation inst1 creation-final-tasks -> stable" {
		t.Errorf("triggers %v", tr.reasons)
	}
}
