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

func (h *PushWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
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
