package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/bots/commit"
	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/bots/github/automation"
)

// automationConfig configures the pull request automation, which runs
// inside the GitHub bot when a configuration file is given. The git token
// comes only from a file or the environment.
type automationConfig struct {
	ConfigFile   string
	GitTokenFile string
}

func (c *automationConfig) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ConfigFile, "github-automation-config", envString("github-automation-config", ""),
		"YAML file configuring the pull request automation per repository (CLA, /update-branch, /cherry-pick, stale, /e2e-test); off when empty ["+envName("github-automation-config")+"]")
	fs.StringVar(&c.GitTokenFile, "github-automation-git-token-file", envString("github-automation-git-token-file", ""),
		"file holding the token that fetches and pushes branches for /update-branch and /cherry-pick (or set ENVWICK_GITHUB_AUTOMATION_GIT_TOKEN) ["+envName("github-automation-git-token-file")+"]")
}

// attach registers the automation on bot and starts it; the returned
// function stops it. Nil when the automation is off.
func (c *automationConfig) attach(ctx context.Context, sys *System, bot *githubbot.Bot, clients *githubbot.Clients, committer *commit.Committer, dir string) (func(), error) {
	if c.ConfigFile == "" {
		return nil, nil
	}
	cfg, err := automation.LoadConfig(c.ConfigFile)
	if err != nil {
		return nil, err
	}
	token, err := secret("ENVWICK_GITHUB_AUTOMATION_GIT_TOKEN", c.GitTokenFile)
	if err != nil {
		return nil, err
	}
	log := sys.Logger.With("component", "pr-automation")
	// The automation saves its e2e runs there, but does not make it.
	if err := os.MkdirAll(filepath.Join(dir, "automation"), 0o755); err != nil {
		return nil, fmt.Errorf("creating the automation's data dir: %w", err)
	}
	a, err := automation.New(automation.Options{Config: cfg, GitHub: clients, Committer: committer, GitToken: token,
		DataDir: filepath.Join(dir, "automation"), Logger: log})
	if err != nil {
		return nil, err
	}
	a.Register(bot)
	*sys.Notifiers = append(*sys.Notifiers, a)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Run(runCtx) }()
	log.InfoContext(ctx, "pull request automation on", "repositories", len(cfg.Repositories))
	return func() { cancel(); <-done }, nil
}
