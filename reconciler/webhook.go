package reconciler

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/google/go-github/v57/github"
)

// Triggerer asks for a pass; Runner implements it.
type Triggerer interface {
	Trigger(reason string)
}

// PushWebhook receives the envs repository's GitHub webhooks. A push asks
// for a pass at once; a payload whose HMAC-SHA256 signature does not match
// the secret is answered 401 and nothing else happens.
type PushWebhook struct {
	Secret  []byte
	Trigger Triggerer
	Logger  *slog.Logger
}

// maxPushPayload is GitHub's cap on webhook payloads.
const maxPushPayload = 25 << 20

func (h *PushWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Refused before the body is read: an unsigned request costs nothing,
	// and a signed one is read up to GitHub's own cap on payloads.
	if r.Header.Get(github.SHA256SignatureHeader) == "" && r.Header.Get(github.SHA1SignatureHeader) == "" {
		http.Error(w, "missing signature: webhooks must be signed", http.StatusUnauthorized)
		return
	}
	if r.ContentLength > maxPushPayload {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPushPayload)
	payload, err := github.ValidatePayload(r, h.Secret)
	if err != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	switch github.WebHookType(r) {
	case "push":
		var ev github.PushEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			http.Error(w, "invalid push payload", http.StatusBadRequest)
			return
		}
		h.Trigger.Trigger("push " + short(ev.GetAfter()))
		w.WriteHeader(http.StatusAccepted)
	case "ping":
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
