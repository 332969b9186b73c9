package mattermost

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/reconciler"
)

// credential is an account created on a new installation. It only ever
// travels in a direct message to the owner: never to git, logs or errors.
type credential struct {
	Username string
	Password string
	Admin    bool
}

// String hides the password, so a credential that reaches a log by mistake
// shows no secret.
func (c credential) String() string { return c.Username + ":<redacted>" }

// createCredentials creates a system admin and a regular user on the
// installation at url through its own API. The first account on a fresh
// Mattermost server becomes its system admin; the admin then creates the
// user. It returns what it could create.
func (b *Bot) createCredentials(ctx context.Context, url string) ([]credential, error) {
	c := model.NewAPIv4Client(strings.TrimRight(url, "/"))
	c.HTTPClient = b.hc
	// GetPingWithOptions, not GetPing: the latter panics on a reply
	// without a status string, and url may answer anything.
	if ping, _, err := c.GetPingWithOptions(ctx, model.SystemPingOptions{}); err != nil {
		return nil, fmt.Errorf("installation %s is not reachable: %w", url, redact(err))
	} else if s, _ := ping["status"].(string); s != model.StatusOk {
		return nil, fmt.Errorf("installation %s is not healthy (status %q)", url, s)
	}
	suffix, err := randomString(lowerDigits, 6)
	if err != nil {
		return nil, err
	}
	admin := credential{Username: "sysadmin-" + suffix}
	user := credential{Username: "user-" + suffix}
	for _, cr := range []*credential{&admin, &user} {
		if cr.Password, err = password(); err != nil {
			return nil, err
		}
	}
	if _, _, err := c.CreateUser(ctx, b.account(admin)); err != nil {
		return nil, fmt.Errorf("creating the first account on %s: %w", url, redact(err))
	}
	me, _, err := c.Login(ctx, admin.Username, admin.Password)
	if err != nil {
		return nil, fmt.Errorf("logging in to %s with the new account: %w", url, redact(err))
	}
	admin.Admin = slices.Contains(strings.Fields(me.Roles), model.SystemAdminRoleId)
	out := []credential{admin}
	if _, _, err := c.CreateUser(ctx, b.account(user)); err != nil {
		return out, fmt.Errorf("creating a user account on %s: %w", url, redact(err))
	}
	_, _ = c.Logout(ctx)
	return append(out, user), nil
}

func (b *Bot) account(c credential) *model.User {
	return &model.User{Username: c.Username, Email: c.Username + "@" + b.cfg.CredentialEmailDomain, Password: c.Password}
}

// redact keeps the status and server message of an API error and drops the
// rest (a request body echoed back could hold a password).
func redact(err error) error {
	var ae *model.AppError
	if errors.As(err, &ae) {
		return fmt.Errorf("%d %s: %s", ae.StatusCode, http.StatusText(ae.StatusCode), ae.Id)
	}
	return err
}

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	passwordSet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	symbols     = "!#%+-.:=?@_"
)

// password returns a random password that meets any Mattermost password
// policy an operator is likely to set: 25 characters with upper and lower
// case, digits and symbols.
func password() (string, error) {
	body, err := randomString(passwordSet, 20)
	if err != nil {
		return "", err
	}
	tail, err := randomString(symbols, 2)
	if err != nil {
		return "", err
	}
	return body + "A7" + tail + "z", nil
}

func randomString(set string, n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(set)))
	for i := range out {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generating a random string: %w", err)
		}
		out[i] = set[k.Int64()]
	}
	return string(out), nil
}

// keepAdmin hands the admin account created on t's installation to the
// credential keeper, so its usage can be asked; a failure loses only that.
func (b *Bot) keepAdmin(ctx context.Context, t reconciler.Transition, url string, creds []credential) {
	if b.creds == nil || t.Environment == nil || t.Environment.Status.Installation == nil {
		return
	}
	for _, c := range creds {
		if !c.Admin {
			continue
		}
		if err := b.creds.KeepAdmin(t.Name, t.Environment.Status.Installation.ID, url, c.Username, c.Password); err != nil {
			b.log.WarnContext(ctx, "the installation's admin account was not kept: its usage cannot be asked", "environment", t.Name, "error", err)
		}
	}
}
