package usage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Credential is the admin account envwick created on an installation (the
// chat bot creates it when the installation is ready). It is kept only in
// a file of mode 0600 in the data dir, to ask the installation for its
// usage: never in git, logs, status or messages other than the owner's
// direct message.
type Credential struct {
	InstallationID string `json:"installationID"`
	URL            string `json:"url"`
	Username       string `json:"username"`
	Password       string `json:"password"`
}

// String hides the password.
func (c Credential) String() string { return c.Username + ":<redacted>@" + c.URL }

// Credentials is the file of credentials, one per environment: the latest
// installation's. Safe for concurrent use.
type Credentials struct {
	path string
	mu   sync.Mutex
	m    map[string]Credential
}

// OpenCredentials reads the file at path (none yet is empty).
func OpenCredentials(path string) (*Credentials, error) {
	c := &Credentials{path: path, m: map[string]Credential{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("reading installation credentials: %w", err)
	}
	if err := json.Unmarshal(data, &c.m); err != nil {
		return nil, fmt.Errorf("reading installation credentials %s: %w", path, err)
	}
	return c, nil
}

// Keep records the admin credential of environment name's installation,
// replacing the previous installation's.
func (c *Credentials) Keep(name string, cr Credential) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[name] = cr
	return c.saveLocked()
}

// Get returns the credential kept for name.
func (c *Credentials) Get(name string) (Credential, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cr, ok := c.m[name]
	return cr, ok
}

// saveLocked writes the file atomically, readable by its owner only.
func (c *Credentials) saveLocked() error {
	data, err := json.Marshal(c.m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("saving installation credentials: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".credentials-*")
	if err != nil {
		return fmt.Errorf("saving installation credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving installation credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving installation credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("saving installation credentials: %w", err)
	}
	return nil
}

// KeepAdmin is Keep for the chat bot, which creates the admin account when
// an installation is ready (bots/mattermost.CredentialKeeper).
func (c *Credentials) KeepAdmin(env, installationID, url, username, password string) error {
	return c.Keep(env, Credential{InstallationID: installationID, URL: url, Username: username, Password: password})
}
