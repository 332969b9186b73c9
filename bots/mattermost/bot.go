// Package mattermost is the chat bot: the /cloud slash command becomes
// commits to the envs repository, authored by the person who typed it, and
// the reconciler's transitions come back to them as direct messages.
//
// The bot never touches the platform. Mutating commands go through
// bots/commit; list and info read the envs repository and the reconciler's
// status; direct messages go through a bot account on the Mattermost server.
package mattermost

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// Committer is the part of bots/commit the bot uses.
type Committer interface {
	Create(ctx context.Context, m commit.Meta, e *envs.Environment) (commit.Result, error)
	Update(ctx context.Context, m commit.Meta, name string, muts ...commit.Mutation) (commit.Result, error)
	Delete(ctx context.Context, m commit.Meta, name string) (commit.Result, error)
	// Extension is the mutation extending by d; Policy the rules every
	// commit obeys (the bot reads them only to describe them).
	Extension(d time.Duration) commit.Mutation
	Policy() commit.Policy
}

// Environments reads the environments on the envs repository's branch head.
type Environments interface {
	Environments(ctx context.Context) ([]*envs.Environment, error)
}

// StatusReader returns what the reconciler last recorded of an environment.
type StatusReader interface {
	EnvironmentStatus(name string) (envs.EnvironmentStatus, bool)
}

// ActivityRecorder hears that someone used an environment; the reconciler's
// reconciler.ActivityRecorder has this method set.
type ActivityRecorder interface {
	RecordActivity(ctx context.Context, name string, at time.Time, what string)
}

// CredentialKeeper keeps the admin account the bot creates on a new
// installation, so that the installation can be asked how it is used
// (reconciler/usage.Credentials). It never reaches git, logs or status.
type CredentialKeeper interface {
	KeepAdmin(env, installationID, url, username, password string) error
}

// Exec runs an allowed mmctl command in an environment's installation and
// returns its output, trimmed: the reconciler's exec service
// (reconciler.Reconciler.Exec), so the platform stays behind the
// reconciler. Whether the person may act on the environment is the bot's
// rule; the allow-list is the service's.
type Exec interface {
	Exec(ctx context.Context, req reconciler.ExecRequest) (*reconciler.ExecResult, error)
}

// Health reports the platform's health in one line, as the reconciler last
// saw it.
type Health interface {
	PlatformHealth(ctx context.Context) (string, error)
}

// Deps are the parts the bot works with. Committer and Environments are
// required.
type Deps struct {
	Committer    Committer
	Environments Environments
	// Status; nil shows no status.
	Status StatusReader
	// Activity; nil records none.
	Activity ActivityRecorder
	// Credentials keeps the admin account created on a ready installation
	// (for the usage source); nil keeps none.
	Credentials CredentialKeeper
	// Exec runs /cloud mmctl; nil answers that it is not configured.
	Exec Exec
	// Health is /cloud status's platform health; nil says it is unknown.
	Health Health
	// Chat; nil builds one from Config.ServerURL and Config.BotToken.
	Chat Chat
	// HTTPClient calls the Mattermost server, response URLs and new
	// installations; nil uses a client with a 30 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Bot serves the /cloud command and button callbacks and sends direct
// messages on transitions.
type Bot struct {
	cfg      Config
	commits  Committer
	envs     Environments
	status   StatusReader
	activity ActivityRecorder
	creds    CredentialKeeper
	exec     Exec
	health   Health
	fleet    *fleetLedger
	chat     Chat
	hc       *http.Client
	log      *slog.Logger
	now      func() time.Time
	commands *command.Registry[cloudRun]

	// work tracks background work (slow commands, direct messages) so
	// Close can wait for it.
	work sync.WaitGroup

	mu     sync.Mutex
	owners map[string]string // environment -> owner's user ID, for notices without a spec
}

// New checks the configuration and returns a Bot.
func New(cfg Config, d Deps) (*Bot, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configuring the Mattermost bot: %w", err)
	}
	if d.Committer == nil || d.Environments == nil {
		return nil, errors.New("configuring the Mattermost bot: a committer and an environment reader are required")
	}
	if err := cfg.fitButton(d.Committer.Policy()); err != nil {
		return nil, fmt.Errorf("configuring the Mattermost bot: %w", err)
	}
	b := &Bot{
		cfg: cfg, commits: d.Committer, envs: d.Environments, status: d.Status, activity: d.Activity, creds: d.Credentials,
		exec: d.Exec, health: d.Health, chat: d.Chat, hc: d.HTTPClient, log: d.Logger, now: d.Now, owners: map[string]string{},
		commands: newCommands(),
	}
	fleet, err := openFleetLedger(cfg.FleetLedger)
	if err != nil {
		return nil, fmt.Errorf("configuring the Mattermost bot: %w", err)
	}
	b.fleet = fleet
	if b.hc == nil {
		b.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.chat == nil {
		b.chat = noChat{}
		if cfg.ServerURL != "" {
			b.chat = NewChat(cfg.ServerURL, cfg.BotToken, b.hc)
		}
	}
	return b, nil
}

// Close waits for background work (slow commands, direct messages) to end.
func (b *Bot) Close() { b.work.Wait() }

// Handler serves CommandPath (the slash command) and ActionsPath (button
// callbacks). Mount it at the server root, or strip a prefix first.
func (b *Bot) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CommandPath, b.serveCommand)
	mux.HandleFunc("POST "+ActionsPath, b.serveAction)
	return mux
}

// maxForm bounds a request body: a slash command is a short form.
const maxForm = 64 << 10

// authorized compares the request's token with every configured one in
// constant time, so neither the match nor its position leaks through timing.
func (b *Bot) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token ")
	if !ok {
		return false
	}
	match := 0
	for _, t := range b.cfg.Tokens {
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(t))
	}
	return match == 1
}

// request is one slash command invocation.
type request struct {
	Text        string
	UserID      string
	UserName    string
	ChannelID   string
	ChannelName string
	TeamID      string
	TeamDomain  string
	ResponseURL string
	TriggerID   string
}

func (b *Bot) serveCommand(w http.ResponseWriter, r *http.Request) {
	if !b.authorized(r) {
		b.log.WarnContext(r.Context(), "slash command refused: missing or wrong token", "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	req := request{
		Text: r.PostForm.Get("text"), UserID: r.PostForm.Get("user_id"), UserName: r.PostForm.Get("user_name"),
		ChannelID: r.PostForm.Get("channel_id"), ChannelName: r.PostForm.Get("channel_name"),
		TeamID: r.PostForm.Get("team_id"), TeamDomain: r.PostForm.Get("team_domain"),
		ResponseURL: r.PostForm.Get("response_url"), TriggerID: r.PostForm.Get("trigger_id"),
	}
	if req.UserID == "" || req.ChannelID == "" {
		http.Error(w, "user_id and channel_id are required", http.StatusBadRequest)
		return
	}
	text, late := b.run(r.Context(), req)
	writeJSON(w, &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text})
	if late != nil {
		b.work.Go(func() { b.followUp(req, late) })
	}
}

// run executes the command within the reply budget. When it takes longer,
// it returns a "working on it" text and a channel the final reply arrives on.
func (b *Bot) run(ctx context.Context, req request) (string, <-chan string) {
	// The command outlives the request when slow: a commit that is being
	// pushed must not be abandoned because Mattermost stopped waiting.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	done := make(chan string, 1)
	b.work.Go(func() {
		defer cancel()
		done <- b.execute(ctx, req)
	})
	timer := time.NewTimer(b.cfg.ReplyBudget)
	defer timer.Stop()
	select {
	case text := <-done:
		return text, nil
	case <-timer.C:
		return "Working on it; the result follows here in a moment.", done
	}
}

// followUp posts a slow command's result through the response URL.
func (b *Bot) followUp(req request, late <-chan string) {
	text := <-late
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !b.trustedResponseURL(req.ResponseURL) {
		b.log.WarnContext(ctx, "result of a slow command not delivered: response URL is not on the configured server",
			"user", req.UserName)
		return
	}
	body, _ := json.Marshal(&model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.ResponseURL, bytes.NewReader(body))
	if err != nil {
		b.log.ErrorContext(ctx, "posting a command result", "error", err)
		return
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(hr)
	if err != nil {
		b.log.ErrorContext(ctx, "posting a command result", "error", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.log.ErrorContext(ctx, "posting a command result", "status", resp.Status)
	}
}

// trustedResponseURL: the bot posts only to the server it is configured
// for, so a forged response_url cannot make it call anywhere else.
func (b *Bot) trustedResponseURL(u string) bool {
	return b.cfg.ServerURL != "" && strings.HasPrefix(u, b.cfg.ServerURL+"/")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The client went away; nothing to tell it.
		return
	}
}
