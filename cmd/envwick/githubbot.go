package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/bots/commit"
	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/bots/github/localgithub"
)

// githubConfig configures the GitHub bot inside serve and dev. The bot is
// on when a webhook secret is set. Secrets come only from the environment
// or from files, never from flags, and are never logged.
type githubConfig struct {
	SecretFile        string
	Repos             []string
	APIURL            string
	TokenFile         string
	AppID             int64
	AppKeyFile        string
	InstallationID    int64
	Image             string
	Images            []string
	VersionRule       string
	ServeForks        bool
	CommandPermission string
	EnvsRepo          string
	TemplatesFile     string
	CredentialsHelp   string
	LogsURL           string
	Automation        automationConfig
}

func (c *githubConfig) addFlags(fs *pflag.FlagSet) {
	s := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, envString(name, def), usage+" ["+envName(name)+"]")
	}
	list := func(p *[]string, name, usage string) {
		var def []string
		if v := envString(name, ""); v != "" {
			def = strings.Split(v, ",")
		}
		fs.StringSliceVar(p, name, def, usage+" ["+envName(name)+"]")
	}
	id := func(p *int64, name, usage string) {
		def, _ := strconv.ParseInt(envString(name, "0"), 10, 64)
		fs.Int64Var(p, name, def, usage+" ["+envName(name)+"]")
	}
	s(&c.SecretFile, "github-webhook-secret-file", "", "file holding the GitHub bot's webhook secret, and optionally the next one on a second line (or set ENVWICK_GITHUB_WEBHOOK_SECRET and ENVWICK_GITHUB_WEBHOOK_SECRET_NEXT); the bot is on when set")
	list(&c.Repos, "github-repos", "repositories (owner/name) the GitHub bot serves; empty: every repository it is installed on")
	s(&c.APIURL, "github-api-url", "https://api.github.com/", "GitHub REST API root (GitHub Enterprise: https://HOST/api/v3/)")
	s(&c.TokenFile, "github-token-file", "", "file holding a GitHub token for token mode (or set ENVWICK_GITHUB_TOKEN)")
	id(&c.AppID, "github-app-id", "GitHub App ID (App mode, preferred over a token)")
	s(&c.AppKeyFile, "github-app-key-file", "", "file holding the GitHub App's private key, PEM (or set ENVWICK_GITHUB_APP_KEY)")
	id(&c.InstallationID, "github-installation-id", "GitHub App installation used when a repository's cannot be looked up")
	s(&c.Image, "github-image", "mattermostdevelopment/mattermost-enterprise-edition", "Mattermost image pull-request environments run")
	list(&c.Images, "github-images", "per-repository images, owner/name=image")
	s(&c.VersionRule, "github-version-rule", string(githubbot.VersionSHA), "image tag from the pull request head: sha (the full head SHA) or sha7")
	fs.BoolVar(&c.ServeForks, "github-serve-forks", envBool("github-serve-forks", false), "create environments for pull requests from forks ["+envName("github-serve-forks")+"]")
	s(&c.CommandPermission, "github-command-permission", "write", "lowest repository permission that may run /env commands: read, triage, write, maintain or admin")
	s(&c.EnvsRepo, "github-envs-repo", "", "the envs repository on GitHub (owner/name), for statuses on its commits")
	s(&c.TemplatesFile, "github-templates-file", "", `JSON file mapping labels to templates, e.g. {"Setup Cloud Test Server": {"size": "miniSingleton"}}; default: the three seed labels`)
	s(&c.CredentialsHelp, "github-credentials-help", "", "sentence telling people where to get test credentials (never the credentials)")
	s(&c.LogsURL, "github-logs-url", "", "logs link template on the environment comment, with {id} (installation ID) and {name} (environment)")
	c.Automation.addFlags(fs)
}

// attach builds the GitHub bot and plugs it into the system: its webhook
// endpoint on the mux, its notifier on the transitions, pushes and
// commands as activity. It returns a function that stops the bot and
// waits for it, or nil when the bot is off.
func (c *githubConfig) attach(ctx context.Context, sys *System) (func(), error) {
	secrets, err := c.secrets()
	local := sys.Config.Local
	if err == nil && len(secrets) == 0 && local != nil {
		var s string
		s, err = local.secret(githubSecretFile)
		secrets = []string{s}
	}
	if err != nil || len(secrets) == 0 {
		return nil, err
	}
	cfg := githubbot.Config{
		Secrets: secrets, Repositories: c.Repos, DefaultImage: c.Image, Images: map[string]string{},
		Version: githubbot.VersionRule(c.VersionRule), ServeForks: c.ServeForks,
		CommandPermission: c.CommandPermission, EnvsRepository: c.EnvsRepo, CredentialsHelp: c.CredentialsHelp, LogsURL: c.LogsURL,
	}
	for _, kv := range c.Images {
		repo, image, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--github-images %q: want owner/name=image", kv)
		}
		cfg.Images[repo] = image
	}
	if c.TemplatesFile != "" {
		data, err := os.ReadFile(c.TemplatesFile)
		if err != nil {
			return nil, fmt.Errorf("reading the GitHub label templates: %w", err)
		}
		if err := json.Unmarshal(data, &cfg.Templates); err != nil {
			return nil, fmt.Errorf("reading the GitHub label templates %s: %w", c.TemplatesFile, err)
		}
	}
	token, err := secret("ENVWICK_GITHUB_TOKEN", c.TokenFile)
	if err != nil {
		return nil, err
	}
	key, err := secret("ENVWICK_GITHUB_APP_KEY", c.AppKeyFile)
	if err != nil {
		return nil, err
	}
	log := sys.Logger.With("component", "github-bot")
	access := githubbot.Access{BaseURL: c.APIURL, Logger: log}
	switch {
	case c.AppID != 0:
		access.AppID, access.PrivateKey, access.InstallationID = c.AppID, []byte(key), c.InstallationID
	case token == "" && local != nil:
		// No GitHub: the bot talks to the local one, which prints what it
		// would post.
		access.BaseURL, access.Token, access.Transport = localgithub.BaseURL, "local", local.github.Transport()
	default:
		access.Token = token
	}
	clients, err := githubbot.NewClients(access)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(sys.Config.DataDir, "github-bot")
	ledger, err := commit.OpenLedger(filepath.Join(dir, "committed-deliveries"), 0)
	if err != nil {
		return nil, err
	}
	committer, err := sys.committer(ledger, log)
	if err != nil {
		ledger.Close()
		return nil, err
	}
	bot, err := githubbot.New(githubbot.Options{
		Config:    cfg,
		GitHub:    clients,
		Committer: committer,
		DataDir:   dir,
		Activity:  sys.Activity,
		Status:    githubbot.ReconcilerStatus{R: sys.Reconciler},
		Planner:   sys.Reconciler,
		Logger:    log,
	})
	if err != nil {
		ledger.Close()
		return nil, err
	}
	if access.BaseURL == localgithub.BaseURL && c.Automation.ConfigFile == "" {
		if c.Automation.ConfigFile, err = local.automationConfig(); err != nil {
			bot.Close()
			ledger.Close()
			return nil, err
		}
	}
	stopAutomation, err := c.Automation.attach(ctx, sys, bot, clients, committer, dir)
	if err != nil {
		bot.Close()
		ledger.Close()
		return nil, err
	}
	*sys.Notifiers = append(*sys.Notifiers, bot)
	if access.BaseURL == localgithub.BaseURL {
		sys.Mux.Handle(githubbot.WebhookPath, local.github.Observe(bot))
		sys.Mux.Handle("GET "+devGitHubPostsPath, local.github.PostsHandler())
	} else {
		sys.Mux.Handle(githubbot.WebhookPath, bot)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); bot.Run(runCtx) }()
	log.InfoContext(ctx, "GitHub bot on", "webhook", githubbot.WebhookPath, "app", c.AppID != 0, "local", access.BaseURL == localgithub.BaseURL, "repositories", c.Repos)
	return func() {
		cancel()
		<-done
		if stopAutomation != nil {
			stopAutomation()
		}
		bot.Close()
		ledger.Close()
	}, nil
}

// secrets reads the webhook secrets: a file with the current secret and
// optionally the next on its second line, or the environment.
func (c *githubConfig) secrets() ([]string, error) {
	env := os.Getenv("ENVWICK_GITHUB_WEBHOOK_SECRET") + "\n" + os.Getenv("ENVWICK_GITHUB_WEBHOOK_SECRET_NEXT")
	return secretList(env, c.SecretFile, "\n", "the GitHub webhook secret")
}
