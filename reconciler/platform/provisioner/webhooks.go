package provisioner

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
)

// CreateWebhook registers a webhook that receives a WebhookPayload on every
// state change. Not retried (a second registration of the same URL fails).
func (c *Client) CreateWebhook(ctx context.Context, req CreateWebhookRequest) (*Webhook, error) {
	var out Webhook
	err := c.do(ctx, call{method: http.MethodPost, route: "/api/webhooks", path: "/webhooks", body: req, out: &out})
	if err != nil {
		return nil, fmt.Errorf("registering webhook %s: %w", req.URL, err)
	}
	return &out, nil
}

// GetWebhook returns a webhook by ID.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	var out Webhook
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/webhook/{id}", path: "/webhook/" + pathID(id),
		idempotent: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("getting webhook %s: %w", id, err)
	}
	return &out, nil
}

// ListWebhooks returns every webhook (of ownerID when given), paging
// through them.
func (c *Client) ListWebhooks(ctx context.Context, ownerID string, includeDeleted bool) ([]*Webhook, error) {
	var all []*Webhook
	for page := 0; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(DefaultPageSize)}}
		if ownerID != "" {
			q.Set("owner", ownerID)
		}
		if includeDeleted {
			q.Set("include_deleted", "true")
		}
		var out []*Webhook
		err := c.do(ctx, call{method: http.MethodGet, route: "/api/webhooks", path: "/webhooks", query: q,
			idempotent: true, out: &out})
		if err != nil {
			return nil, fmt.Errorf("listing webhooks: %w", err)
		}
		all = append(all, out...)
		if len(out) < DefaultPageSize {
			return all, nil
		}
	}
}

// DeleteWebhook removes a webhook. Retried; a repeat after a lost answer
// gets ErrBadRequest (already deleted).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	err := c.do(ctx, call{method: http.MethodDelete, route: "/api/webhook/{id}", path: "/webhook/" + pathID(id),
		idempotent: true})
	if err != nil {
		return fmt.Errorf("deleting webhook %s: %w", id, err)
	}
	return nil
}

// ClusterInstallationListOptions filter cluster installations.
type ClusterInstallationListOptions struct {
	InstallationID string
	ClusterID      string
	Page           int
	PerPage        int
	IncludeDeleted bool
}

// ListClusterInstallations returns one page of cluster installations.
func (c *Client) ListClusterInstallations(ctx context.Context, opts ClusterInstallationListOptions) ([]*ClusterInstallation, error) {
	perPage := opts.PerPage
	if perPage == 0 {
		perPage = DefaultPageSize
	}
	q := url.Values{"page": {strconv.Itoa(opts.Page)}, "per_page": {strconv.Itoa(perPage)}}
	if opts.InstallationID != "" {
		q.Set("installation", opts.InstallationID)
	}
	if opts.ClusterID != "" {
		q.Set("cluster", opts.ClusterID)
	}
	if opts.IncludeDeleted {
		q.Set("include_deleted", "true")
	}
	var out []*ClusterInstallation
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/cluster_installations", path: "/cluster_installations",
		query: q, idempotent: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("listing cluster installations: %w", err)
	}
	return out, nil
}

// GetClusterInstallation returns a cluster installation by ID.
func (c *Client) GetClusterInstallation(ctx context.Context, id string) (*ClusterInstallation, error) {
	var out ClusterInstallation
	err := c.do(ctx, call{method: http.MethodGet, route: "/api/cluster_installation/{id}",
		path: "/cluster_installation/" + pathID(id), idempotent: true, out: &out})
	if err != nil {
		return nil, fmt.Errorf("getting cluster installation %s: %w", id, err)
	}
	return &out, nil
}

// ExecClusterInstallation runs command ("mmctl" or "mattermost") with args
// in a cluster installation and returns its output. A command that fails
// gives ErrConflict with the output in both the returned bytes and the
// error's message. Not retried: commands such as loading sample data are
// not idempotent.
func (c *Client) ExecClusterInstallation(ctx context.Context, clusterInstallationID, command string, args ...string) ([]byte, error) {
	if args == nil {
		args = []string{}
	}
	var out []byte
	err := c.do(ctx, call{method: http.MethodPost, route: "/api/cluster_installation/{id}/exec/{command}",
		path: "/cluster_installation/" + pathID(clusterInstallationID) + "/exec/" + pathID(command),
		body: args, raw: &out})
	if err != nil {
		return out, fmt.Errorf("running %s in cluster installation %s: %w", command, clusterInstallationID, err)
	}
	return out, nil
}

// ErrNoClusterInstallation: the installation has no active cluster
// installation yet (it is not created, or deleted).
var ErrNoClusterInstallation = errors.New("no active cluster installation")

// ExecInstallation runs a command in the installation's active cluster
// installation (for example mmctl sampledata to load test data).
func (c *Client) ExecInstallation(ctx context.Context, installationID, command string, args ...string) ([]byte, error) {
	cis, err := c.ListClusterInstallations(ctx, ClusterInstallationListOptions{InstallationID: installationID})
	if err != nil {
		return nil, err
	}
	for _, ci := range cis {
		if ci.IsActive && ci.DeleteAt == 0 {
			return c.ExecClusterInstallation(ctx, ci.ID, command, args...)
		}
	}
	return nil, fmt.Errorf("running %s in installation %s: %w", command, installationID, ErrNoClusterInstallation)
}

// WebhookTokenHeader carries the token that authenticates the
// provisioner's webhooks: RegisterWebhook registers it as a custom header
// of the webhook, and WebhookReceiver refuses a request without it.
const WebhookTokenHeader = "X-Envwick-Webhook-Token"

// maxWebhookPayload bounds a state-change payload (a few hundred bytes).
const maxWebhookPayload = 64 << 10

// WebhookReceiver receives the provisioner's state-change webhooks
// (registered with the provisioner by RegisterWebhook). An
// installation's state change asks for a pass at once, so status follows
// the platform without waiting for the next periodic pass. Every request
// must carry Token in WebhookTokenHeader (compared in constant time, before
// the body is read); with no Token every request is refused.
type WebhookReceiver struct {
	Trigger interface{ Trigger(reason string) }
	Logger  *slog.Logger
	Token   string
}

func (h *WebhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := r.Header.Get(WebhookTokenHeader)
	if h.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) != 1 {
		h.Logger.WarnContext(r.Context(), "provisioner webhook refused: missing or wrong token", "remote", r.RemoteAddr)
		http.Error(w, "missing or wrong "+WebhookTokenHeader, http.StatusUnauthorized)
		return
	}
	if r.ContentLength > maxWebhookPayload {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookPayload))
	if err != nil {
		http.Error(w, "reading payload", http.StatusRequestEntityTooLarge)
		return
	}
	var ev WebhookPayload
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "invalid payload", http.StatusBadRequest)
		return
	}
	if ev.Type == TypeInstallation {
		if t, ok := h.Trigger.(installationTrigger); ok {
			t.InstallationChanged(ev.ID, ev.OldState, ev.NewState)
		} else {
			h.Trigger.Trigger("installation " + ev.ID + " " + ev.OldState + " -> " + ev.NewState)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// installationTrigger is a Trigger that also takes an installation's state
// change as such (reconciler.Runner: its logs then name the environment).
type installationTrigger interface {
	InstallationChanged(id, oldState, newState string)
}

// WebhookHandler is the receiver of the state-change webhooks that
// RegisterWebhook points at envwick, asking trigger for a pass on each
// request that carries token.
func (p *Platform) WebhookHandler(trigger interface{ Trigger(reason string) }, log *slog.Logger, token string) http.Handler {
	return &WebhookReceiver{Trigger: trigger, Logger: log, Token: token}
}
