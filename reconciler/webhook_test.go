package reconciler

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
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

func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestPushWebhookSignature(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}`)
	tests := []struct {
		name      string
		event     string
		signature string
		want      int
		triggered bool
	}{
		{"valid push", "push", sign(secret, body), http.StatusAccepted, true},
		{"wrong secret", "push", sign([]byte("other"), body), http.StatusUnauthorized, false},
		{"missing signature", "push", "", http.StatusUnauthorized, false},
		{"ping", "ping", sign(secret, body), http.StatusOK, false},
		{"other event", "issues", sign(secret, body), http.StatusNoContent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &triggers{}
			srv := httptest.NewServer(&PushWebhook{Secret: secret, Trigger: tr})
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", tt.event)
			if tt.signature != "" {
				req.Header.Set("X-Hub-Signature-256", tt.signature)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := len(tr.reasons) > 0; got != tt.triggered {
				t.Errorf("triggered=%v, want %v (%v)", got, tt.triggered, tr.reasons)
			}
		})
	}
}
