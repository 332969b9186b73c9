package reconciler

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/reconciler/provisioner"
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

// ProvisionerWebhook receives the provisioner's state-change webhooks
// (registered with the provisioner by the serving command). An
// installation's state change asks for a pass at once, so status follows
// the platform without waiting for the next periodic pass.
type ProvisionerWebhook struct {
	Trigger Triggerer
	Logger  *slog.Logger
}

func (h *ProvisionerWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading payload", http.StatusBadRequest)
		return
	}
	var ev provisioner.WebhookPayload
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "invalid payload", http.StatusBadRequest)
		return
	}
	if ev.Type == provisioner.TypeInstallation {
		h.Trigger.Trigger("installation " + ev.ID + " " + ev.OldState + " -> " + ev.NewState)
	}
	w.WriteHeader(http.StatusOK)
}
