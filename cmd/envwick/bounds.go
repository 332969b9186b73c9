package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// maxRequestBody caps every request body envwick serves: GitHub's own cap
// on webhook payloads, the largest body any endpoint accepts. Endpoints
// cap lower where they can (64 KiB for slash commands and the
// provisioner's webhooks).
const maxRequestBody = 25 << 20

// boundBodies refuses a request whose declared body is larger than limit
// before any handler runs, and caps the body of every other one (a chunked
// body of unknown length), so no endpoint can be made to read more than
// limit bytes, whatever it does.
func boundBodies(h http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			// Closing the connection stops the client from sending the rest.
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// provisionerWebhookToken is the token the provisioner's webhooks must
// carry (--provisioner-webhook-token-file or
// ENVWICK_PROVISIONER_WEBHOOK_TOKEN). Without one, /webhooks/provisioner is
// not served and no webhook is registered: periodic passes still follow
// the platform.
func (c *systemConfig) provisionerWebhookToken() (string, error) {
	return secret("ENVWICK_PROVISIONER_WEBHOOK_TOKEN", c.ProvisionerWebhookTokenFile)
}

// ensureDevWebhookToken gives 'envwick dev' a provisioner webhook token of
// its own when none is configured: random, kept in the data dir (mode 0600)
// so that a restart keeps the registration valid.
func ensureDevWebhookToken(c *systemConfig) error {
	if c.ProvisionerWebhookTokenFile != "" || os.Getenv("ENVWICK_PROVISIONER_WEBHOOK_TOKEN") != "" {
		return nil
	}
	path := filepath.Join(c.DataDir, "provisioner-webhook-token")
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
		c.ProvisionerWebhookTokenFile = path
		return nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading the dev webhook token: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generating the dev webhook token: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(buf)+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the dev webhook token: %w", err)
	}
	c.ProvisionerWebhookTokenFile = path
	return nil
}
