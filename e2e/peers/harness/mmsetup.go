package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// runMMSetup prepares a fresh Mattermost server for the e2e tests: the first
// user created on a server becomes its system admin; it then logs in and makes
// sure a team exists. Running it again against the same server is harmless.
func runMMSetup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mmsetup", flag.ContinueOnError)
	base := fs.String("url", "", "Mattermost site URL")
	user := fs.String("user", "admin", "username of the system admin to create")
	password := fs.String("password", "", "its password")
	email := fs.String("email", "admin@e2e.envwick.test", "its email")
	team := fs.String("team", "e2e", "team name to create")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *password == "" {
		return errors.New("-url and -password are required")
	}
	mm := &mmClient{base: strings.TrimSuffix(*base, "/"), http: &http.Client{Timeout: 30 * time.Second}}

	status, body, err := mm.do(ctx, http.MethodPost, "/api/v4/users", map[string]string{
		"username": *user, "password": *password, "email": *email,
	})
	if err != nil {
		return fmt.Errorf("creating user %s: %w", *user, err)
	}
	if status != http.StatusCreated && !strings.Contains(string(body), "already") {
		return fmt.Errorf("creating user %s: status %d: %s", *user, status, body)
	}

	if err := mm.login(ctx, *user, *password); err != nil {
		return err
	}
	var me struct {
		Roles string `json:"roles"`
	}
	if err := mm.getJSON(ctx, "/api/v4/users/me", &me); err != nil {
		return fmt.Errorf("reading user %s: %w", *user, err)
	}
	if !strings.Contains(me.Roles, "system_admin") {
		return fmt.Errorf("user %s is not a system admin (roles %q): the server was not fresh", *user, me.Roles)
	}

	status, body, err = mm.do(ctx, http.MethodGet, "/api/v4/teams/name/"+url.PathEscape(*team), nil)
	if err != nil {
		return fmt.Errorf("looking up team %s: %w", *team, err)
	}
	if status == http.StatusNotFound {
		status, body, err = mm.do(ctx, http.MethodPost, "/api/v4/teams", map[string]string{
			"name": *team, "display_name": *team, "type": "O",
		})
		if err != nil {
			return fmt.Errorf("creating team %s: %w", *team, err)
		}
		if status != http.StatusCreated {
			return fmt.Errorf("creating team %s: status %d: %s", *team, status, body)
		}
	} else if status != http.StatusOK {
		return fmt.Errorf("looking up team %s: status %d: %s", *team, status, body)
	}
	var t struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.ID == "" {
		return fmt.Errorf("reading team %s: %v: %s", *team, err, body)
	}
	fmt.Println(t.ID)
	return nil
}

type mmClient struct {
	base  string
	http  *http.Client
	token string
}

func (c *mmClient) login(ctx context.Context, user, password string) error {
	status, body, err := c.doWithHeader(ctx, http.MethodPost, "/api/v4/users/login", map[string]string{
		"login_id": user, "password": password,
	}, func(h http.Header) { c.token = h.Get("Token") })
	if err != nil {
		return fmt.Errorf("logging in as %s: %w", user, err)
	}
	if status != http.StatusOK || c.token == "" {
		return fmt.Errorf("logging in as %s: status %d: %s", user, status, body)
	}
	return nil
}

func (c *mmClient) getJSON(ctx context.Context, path string, out any) error {
	status, body, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("status %d: %s", status, body)
	}
	return json.Unmarshal(body, out)
}

func (c *mmClient) do(ctx context.Context, method, path string, in any) (int, []byte, error) {
	return c.doWithHeader(ctx, method, path, in, nil)
}

func (c *mmClient) doWithHeader(ctx context.Context, method, path string, in any, header func(http.Header)) (int, []byte, error) {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	if header != nil {
		header(resp.Header)
	}
	return resp.StatusCode, body, nil
}
