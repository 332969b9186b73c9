package main

import (
	"context"
	"net/url"
	"strings"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/reconciler/dashboard"
)

// dashboardConfig configures the fleet dashboard serve and dev mount at /
// (docs/dashboard.md). Its token is read only from the environment or a
// file, never from a flag.
type dashboardConfig struct {
	Off        bool
	TokenFile  string
	UserHeader string
	GitHubURL  string
}

func (c *dashboardConfig) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Off, "no-dashboard", envBool("no-dashboard", false), "do not serve the fleet dashboard at / ["+envName("no-dashboard")+"]")
	fs.StringVar(&c.TokenFile, "dashboard-token-file", envString("dashboard-token-file", ""), "file holding a token the dashboard requires, as a bearer token or a basic-auth password (or set ENVWICK_DASHBOARD_TOKEN) ["+envName("dashboard-token-file")+"]")
	fs.StringVar(&c.UserHeader, "dashboard-user-header", envString("dashboard-user-header", ""), "header a trusted reverse proxy names the signed-in user in, such as X-Auth-Request-User from oauth2-proxy; requests without it are refused ["+envName("dashboard-user-header")+"]")
	fs.StringVar(&c.GitHubURL, "dashboard-github-url", envString("dashboard-github-url", "https://github.com"), "web root the dashboard links pull requests under ["+envName("dashboard-github-url")+"]")
}

// attach mounts the dashboard on the system's mux and keeps its fleet
// index fresh while the system runs.
func (c *dashboardConfig) attach(ctx context.Context, sys *System) (func(), error) {
	if c.Off {
		return nil, nil
	}
	token, err := secret("ENVWICK_DASHBOARD_TOKEN", c.TokenFile)
	if err != nil {
		return nil, err
	}
	d, err := dashboard.New(dashboard.Options{
		Repo: sys.Repo, RepoURL: webURLOnly(sys.Config.RepoURL), GitHubURL: c.GitHubURL,
		Token: token, UserHeader: c.UserHeader,
		Logger: sys.Logger.With("component", "dashboard"),
	})
	if err != nil {
		return nil, err
	}
	d.Mount(sys.Mux)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(runCtx) }()
	sys.Logger.InfoContext(ctx, "dashboard on", "path", "/", "token", token != "", "user_header", c.UserHeader)
	return func() { cancel(); <-done }, nil
}

// webURLOnly drops credentials from a repository URL before it is handed
// on: the dashboard keeps only the host and path anyway.
func webURLOnly(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return strings.TrimSpace(raw)
}
