package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/mattermost"
)

func newMattermostCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mattermost",
		Short: "Set up the /cloud chat command on a Mattermost server",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMattermostRegisterCmd())
	return cmd
}

func newMattermostRegisterCmd() *cobra.Command {
	var o mattermost.RegisterOptions
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Create the /cloud slash command on a Mattermost team and print its token",
		Long: `register creates the /cloud custom slash command on a team through the
server's API: it posts to --endpoint (envwick serve's /mattermost/command),
with autocomplete. It prints the command's token, once, on stdout: configure
envwick serve with it (ENVWICK_MATTERMOST_COMMAND_TOKENS). The admin token may
also come from ENVWICK_MATTERMOST_ADMIN_TOKEN, which keeps it out of the
process list.`,
		Example: `  envwick mattermost register --url https://chat.example.com --team qa \
    --endpoint https://envwick.example.com/mattermost/command`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Token == "" {
				o.Token = os.Getenv("ENVWICK_MATTERMOST_ADMIN_TOKEN")
			}
			if o.Token == "" {
				return errors.New("an admin access token is required: --token or ENVWICK_MATTERMOST_ADMIN_TOKEN")
			}
			created, err := mattermost.Register(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Created /%s on team %s, posting to %s. Its token:\n", created.Trigger, o.Team, created.URL)
			fmt.Fprintln(cmd.OutOrStdout(), created.Token)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ServerURL, "url", os.Getenv("ENVWICK_MATTERMOST_URL"), "Mattermost server URL [ENVWICK_MATTERMOST_URL]")
	f.StringVar(&o.Token, "token", "", "access token of a system or team admin [ENVWICK_MATTERMOST_ADMIN_TOKEN]")
	f.StringVar(&o.Team, "team", "", "team name or ID")
	f.StringVar(&o.Endpoint, "endpoint", "", "URL the server posts commands to, ending in "+mattermost.CommandPath)
	f.StringVar(&o.Trigger, "trigger", mattermost.Trigger, "the command word")
	f.BoolVar(&o.Replace, "replace", false, "replace an existing command with the same trigger")
	return cmd
}

// chatConfig configures the chat bot inside serve and dev. The bot is on
// when at least one slash command token is set. Secrets come only from the
// environment or from files, never from flags, and are never logged.
type chatConfig struct {
	ServerURL           string
	PublicURL           string
	TokensFile          string
	BotTokenFile        string
	ActionKeyFile       string
	AllowedEmailDomains []string
	AllowedTeams        []string
	Admins              []string
	ButtonExtension     time.Duration
	FleetChannels       []string
	ReportHour          int
	GitHubUsers         []string
	CredentialsChannel  string
	LogsURL             string
}

func (c *chatConfig) addFlags(fs *pflag.FlagSet) {
	s := func(p *string, name, usage string) {
		fs.StringVar(p, name, envString(name, ""), usage+" ["+envName(name)+"]")
	}
	list := func(p *[]string, name, usage string) {
		var def []string
		if v := envString(name, ""); v != "" {
			def = strings.Split(v, ",")
		}
		fs.StringSliceVar(p, name, def, usage+" ["+envName(name)+"]")
	}
	s(&c.ServerURL, "mattermost-url", "Mattermost server the chat bot talks to")
	s(&c.PublicURL, "mattermost-public-url", "URL the Mattermost server reaches this envwick at, for buttons (default: --public-url)")
	s(&c.TokensFile, "mattermost-command-tokens-file", "file holding the /cloud command tokens, one a line (or set ENVWICK_MATTERMOST_COMMAND_TOKENS, comma-separated); the bot is on when set")
	s(&c.BotTokenFile, "mattermost-bot-token-file", "file holding the bot account's access token (or set ENVWICK_MATTERMOST_BOT_TOKEN)")
	s(&c.ActionKeyFile, "mattermost-action-key-file", "file holding the key that signs buttons (or set ENVWICK_MATTERMOST_ACTION_KEY)")
	list(&c.AllowedEmailDomains, "mattermost-allowed-email-domains", "only people with an email in these domains may use /cloud")
	list(&c.AllowedTeams, "mattermost-allowed-teams", "only these teams (names or IDs) may use /cloud")
	list(&c.Admins, "mattermost-admins", "Mattermost usernames that may act on anyone's environment, bound by no quota")
	list(&c.FleetChannels, "mattermost-fleet-channels", "channel IDs that get failures, deletions and a daily report of the fleet (the bot must be a member)")
	fs.IntVar(&c.ReportHour, "mattermost-report-hour", envInt("mattermost-report-hour", 9), "UTC hour of the daily fleet report ["+envName("mattermost-report-hour")+"]")
	list(&c.GitHubUsers, "mattermost-github-users", "GitHub login=Mattermost username pairs: pull request authors who get their environments' direct messages")
	s(&c.CredentialsChannel, "mattermost-credentials-channel", "private channel ID for the accounts of pull request environments whose author maps to nobody")
	s(&c.LogsURL, "mattermost-logs-url", "logs link template in direct messages, with {id} (installation ID) and {name} (environment)")
	durationVar(fs, &c.ButtonExtension, "mattermost-button-extension", envDuration("mattermost-button-extension", 3*24*time.Hour), "what the Extend button adds ["+envName("mattermost-button-extension")+"]")
}

// attach builds the chat bot and plugs it into the system: its notifier
// hears transitions, its handler serves /mattermost/, command use is
// activity. It returns a function that waits for the bot's background work,
// or nil when the bot is off.
func (c *chatConfig) attach(ctx context.Context, sys *System) (func(), error) {
	tokens, err := chatTokens(c.TokensFile)
	local := sys.Config.Local
	if err == nil && len(tokens) == 0 && local != nil {
		var t string
		t, err = local.secret(mattermostTokenFile)
		tokens = []string{t}
	}
	if err != nil || len(tokens) == 0 {
		return nil, err
	}
	var chat mattermost.Chat
	if c.ServerURL == "" && local != nil {
		chat = local.chat // direct messages go to the console
	}
	botToken, err := secret("ENVWICK_MATTERMOST_BOT_TOKEN", c.BotTokenFile)
	if err != nil {
		return nil, err
	}
	actionKey, err := secret("ENVWICK_MATTERMOST_ACTION_KEY", c.ActionKeyFile)
	if err != nil {
		return nil, err
	}
	publicURL := c.PublicURL
	if publicURL == "" {
		publicURL = sys.Config.PublicURL
	}
	ledger, err := commit.OpenLedger(filepath.Join(sys.Config.DataDir, "mattermost-deliveries"), 10000)
	if err != nil {
		return nil, err
	}
	log := sys.Logger.With("component", "mattermost")
	committer, err := sys.committer(ledger, log)
	if err != nil {
		ledger.Close()
		return nil, err
	}
	githubUsers := map[string]string{}
	for _, pair := range c.GitHubUsers {
		login, user, ok := strings.Cut(pair, "=")
		if !ok || login == "" || user == "" {
			ledger.Close()
			return nil, fmt.Errorf("--mattermost-github-users: %q is not login=username", pair)
		}
		githubUsers[login] = strings.TrimPrefix(user, "@")
	}
	bot, err := mattermost.New(mattermost.Config{
		Tokens: tokens, ServerURL: c.ServerURL, BotToken: botToken, PublicURL: publicURL, ActionKey: []byte(actionKey),
		AllowedEmailDomains: c.AllowedEmailDomains, AllowedTeams: c.AllowedTeams, Admins: c.Admins,
		ButtonExtension: c.ButtonExtension,
		FleetChannels:   c.FleetChannels, FleetLedger: filepath.Join(sys.Config.DataDir, "mattermost-fleet.json"), ReportHour: c.ReportHour,
		GitHubUsers: githubUsers, CredentialsChannel: c.CredentialsChannel, LogsURL: c.LogsURL,
	}, mattermost.Deps{
		Committer:    committer,
		Environments: mattermost.StoreEnvironments{Repo: sys.Repo},
		Status:       mattermost.ReconcilerStatus{R: sys.Reconciler},
		Activity:     sys.Activity,
		Credentials:  credentialKeeper(sys),
		Exec:         sys.Reconciler,
		Health:       sys.Reconciler,
		Chat:         chat,
		Logger:       log,
	})
	if err != nil {
		ledger.Close()
		return nil, err
	}
	*sys.Notifiers = append(*sys.Notifiers, bot)
	go bot.RunReports(ctx, sys.Leading)
	sys.Mux.Handle("/mattermost/", bot.Handler())
	log.InfoContext(ctx, "chat bot on", "command", mattermost.CommandPath, "actions", mattermost.ActionsPath, "buttons", actionKey != "" && publicURL != "", "console", chat != nil)
	return func() {
		bot.Close()
		ledger.Close()
	}, nil
}

// chatTokens reads the slash command tokens: a file with one a line, or
// ENVWICK_MATTERMOST_COMMAND_TOKENS, comma-separated.
func chatTokens(file string) ([]string, error) {
	return secretList(os.Getenv("ENVWICK_MATTERMOST_COMMAND_TOKENS"), file, ",\n", "the slash command tokens")
}
