//go:build e2e

package mattermost_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/mattermost"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// siteURLPlatform points every installation's URL at one Mattermost server,
// so the ready message's accounts are created on a real server.
type siteURLPlatform struct {
	platform.Platform
	url string
}

func (p siteURLPlatform) fix(in *platform.Installation, err error) (*platform.Installation, error) {
	if in != nil {
		in.URL = p.url
	}
	return in, err
}

func (p siteURLPlatform) ListInstallations(ctx context.Context, f platform.ListFilter, fn func([]platform.Installation) error) error {
	return p.Platform.ListInstallations(ctx, f, func(page []platform.Installation) error {
		for i := range page {
			page[i].URL = p.url
		}
		return fn(page)
	})
}
func (p siteURLPlatform) GetInstallation(ctx context.Context, id string) (*platform.Installation, error) {
	return p.fix(p.Platform.GetInstallation(ctx, id))
}
func (p siteURLPlatform) CreateInstallation(ctx context.Context, r platform.InstallationRequest) (*platform.Installation, error) {
	return p.fix(p.Platform.CreateInstallation(ctx, r))
}

func suffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

var credRE = regexp.MustCompile("- (system admin|user): `([^`]+)` / `([^`]+)`")

// TestChatBotEndToEnd runs /cloud on a real Mattermost server: the command
// reaches the bot through the server, becomes a commit, the reconciler
// creates the installation on the simulator, and the owner reads the ready
// message (with accounts that log in) and the deleted message from the
// server's API.
func TestChatBotEndToEnd(t *testing.T) {
	mmURL, adminUser, adminPass, teamName := os.Getenv("ENVWICK_E2E_MATTERMOST_URL"), os.Getenv("ENVWICK_E2E_MATTERMOST_ADMIN_USER"),
		os.Getenv("ENVWICK_E2E_MATTERMOST_ADMIN_PASSWORD"), os.Getenv("ENVWICK_E2E_MATTERMOST_TEAM")
	if mmURL == "" || adminUser == "" || adminPass == "" {
		t.Skip("ENVWICK_E2E_MATTERMOST_URL, _ADMIN_USER and _ADMIN_PASSWORD not set: run make e2e")
	}
	if teamName == "" {
		teamName = "e2e"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sfx := suffix(t)

	// The server's side: an admin, a bot account with a token, a person.
	admin := model.NewAPIv4Client(mmURL)
	if _, _, err := admin.Login(ctx, adminUser, adminPass); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	team, _, err := admin.GetTeamByName(ctx, teamName, "")
	if err != nil {
		t.Fatalf("team %s: %v", teamName, err)
	}
	bot, _, err := admin.CreateBot(ctx, &model.Bot{Username: "envwick-" + sfx, DisplayName: "envwick"})
	if err != nil {
		t.Fatalf("creating the bot account: %v", err)
	}
	botToken, _, err := admin.CreateUserAccessToken(ctx, bot.UserId, "envwick e2e", 0)
	if err != nil {
		t.Fatalf("creating the bot token: %v", err)
	}
	alicePass := "Pw-" + sfx + "-" + suffix(t)
	alice, _, err := admin.CreateUser(ctx, &model.User{Username: "alice-" + sfx, Email: "alice-" + sfx + "@example.com",
		FirstName: "Alice", LastName: "E2e", Password: alicePass})
	if err != nil {
		t.Fatalf("creating a user: %v", err)
	}
	if _, _, err := admin.AddTeamMember(ctx, team.Id, alice.Id); err != nil {
		t.Fatalf("adding the user to the team: %v", err)
	}
	// The fleet channel: private, the bot and the person in it.
	fleet, _, err := admin.CreateChannel(ctx, &model.Channel{TeamId: team.Id, Name: "fleet-" + sfx, DisplayName: "fleet " + sfx, Type: model.ChannelTypePrivate})
	if err != nil {
		t.Fatalf("creating the fleet channel: %v", err)
	}
	if _, _, err := admin.AddTeamMember(ctx, team.Id, bot.UserId); err != nil {
		t.Fatalf("adding the bot to the team: %v", err)
	}
	for _, id := range []string{bot.UserId, alice.Id} {
		if _, _, err := admin.AddChannelMember(ctx, fleet.Id, id); err != nil {
			t.Fatalf("adding %s to the fleet channel: %v", id, err)
		}
	}

	aliceC := model.NewAPIv4Client(mmURL)
	if _, _, err := aliceC.Login(ctx, alice.Username, alicePass); err != nil {
		t.Fatalf("user login: %v", err)
	}

	// envwick's side: an envs repository, the simulator, the reconciler
	// and the bot, its handler on loopback for the server to call.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	repo, err := store.Open(ctx, store.Options{Dir: t.TempDir(), Committer: store.Signature{Name: "envwick", Email: "envwick@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	fast := provisionersim.Timing{Creation: 300 * time.Millisecond, Update: 200 * time.Millisecond, Hibernation: 200 * time.Millisecond,
		WakeUp: 200 * time.Millisecond, DeletionPendingPrep: 100 * time.Millisecond, Deletion: 200 * time.Millisecond}
	sim, err := provisionersim.New(provisionersim.Options{Timing: &fast})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := provisioner.New(provisioner.Options{URL: simURL})
	if err != nil {
		t.Fatal(err)
	}
	activity := reconciler.NewActivity()
	var rec *reconciler.Reconciler
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	publicURL := "http://" + ln.Addr().String()

	// The slash command, registered through the server's API.
	cmd, err := mattermost.Register(ctx, mattermost.RegisterOptions{ServerURL: mmURL, Token: admin.AuthToken, Team: team.Name,
		Endpoint: publicURL + mattermost.CommandPath, Replace: true})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	b, err := mattermost.New(mattermost.Config{
		Tokens: []string{cmd.Token}, ServerURL: mmURL, BotToken: botToken.Token, PublicURL: publicURL,
		ActionKey: []byte("e2e-action-key-" + sfx), AllowedEmailDomains: []string{"example.com"}, AllowedTeams: []string{team.Name},
		FleetChannels: []string{fleet.Id}, FleetLedger: t.TempDir() + "/fleet.json", LogsURL: "https://logs.example.com/{id}?env={name}",
	}, mattermost.Deps{
		Committer:    commit.New(repo, commit.Options{Logger: log}),
		Environments: mattermost.StoreEnvironments{Repo: repo},
		Status:       mattermost.ReconcilerStatus{R: statusOf(func(n string) *reconciler.Status { return rec.StatusOf(n) })},
		Activity:     activity,
		Exec: execOf(func(ctx context.Context, req reconciler.ExecRequest) (*reconciler.ExecResult, error) {
			return rec.Exec(ctx, req)
		}),
		Health: healthOf(func(ctx context.Context) (string, error) { return rec.PlatformHealth(ctx) }),
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := &http.Server{Handler: b.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	rec, err = reconciler.New(&reconciler.StoreRepository{Repo: repo},
		siteURLPlatform{Platform: &provisioner.Platform{Client: client, Domain: "envwick.test"}, url: mmURL},
		reconciler.Config{Owner: reconciler.Owner{OwnerID: "envwick-e2e-" + sfx}, Notifier: b, Activity: activity, Logger: log,
			Housekeeper: commit.Housekeeper{Committer: commit.New(repo, commit.Options{Logger: log})}})
	if err != nil {
		t.Fatal(err)
	}

	town, _, err := aliceC.GetChannelByName(ctx, "town-square", team.Id, "")
	if err != nil {
		t.Fatalf("town-square: %v", err)
	}
	name := "chat" + sfx
	run := func(text string) string {
		t.Helper()
		resp, _, err := aliceC.ExecuteCommand(ctx, town.Id, "/cloud "+text)
		if err != nil {
			t.Fatalf("/cloud %s: %v", text, err)
		}
		return resp.Text
	}

	before, _ := repo.Head(repo.Branch())
	if reply := run("create " + name + " --test-data"); !strings.Contains(reply, "Creating **"+name+"**") {
		t.Fatalf("create replied %q", reply)
	}
	head, _ := repo.Head(repo.Branch())
	if head == before {
		t.Fatal("/cloud create made no commit")
	}
	snap, err := repo.Load(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	e := snap.Environments[name].Env
	if e == nil || e.Spec.Owner.Mattermost != alice.Username || e.Spec.Source.Chat == nil || e.Spec.Source.Chat.UserID != alice.Id {
		t.Fatalf("committed environment %+v", e)
	}

	dm, _, err := aliceC.CreateDirectChannel(ctx, alice.Id, bot.UserId)
	if err != nil {
		t.Fatal(err)
	}
	ready := waitForDM(ctx, t, rec, aliceC, dm.Id, "is ready")
	creds := credRE.FindAllStringSubmatch(ready, -1)
	if !strings.Contains(ready, mmURL) || len(creds) != 2 {
		t.Fatalf("ready message %q", ready)
	}
	for _, c := range creds {
		login := model.NewAPIv4Client(mmURL)
		if _, _, err := login.Login(ctx, c[2], c[3]); err != nil {
			t.Errorf("the %s account from the ready message does not log in: %v", c[1], err)
		}
	}

	t.Logf("ready message: %s", credRE.ReplaceAllString(ready, "- $1: `$2` / `<password>`"))
	if id := rec.StatusOf(name).Status.Installation.ID; !strings.Contains(ready, "Logs: https://logs.example.com/"+id+"?env="+name) {
		t.Errorf("ready message without the logs link: %q", ready)
	}

	// The registered command, read back from the server, names the new
	// subcommands. (The server keeps a custom command's hint and
	// description, not the tree register sends; a tree it keeps must have
	// them, with their flags.)
	stored, _, err := admin.GetCommandById(ctx, cmd.Id)
	if err != nil {
		t.Fatalf("reading the command back: %v", err)
	}
	for _, want := range []string{"restart", "retry", "share", "unshare", "deletion-lock", "deletion-unlock", "status", "mmctl", "upgrade"} {
		if !strings.Contains(stored.AutoCompleteHint, "|"+want+"|") || !strings.Contains(stored.AutoCompleteDesc, want) {
			t.Errorf("the server's command lacks %s: hint %q, description %q", want, stored.AutoCompleteHint, stored.AutoCompleteDesc)
		}
	}
	if tree := stored.AutocompleteData; tree != nil {
		subs := map[string]*model.AutocompleteData{}
		for _, sub := range tree.SubCommands {
			subs[sub.Trigger] = sub
		}
		if sh := subs["share"]; sh == nil || len(sh.Arguments) < 2 || sh.Arguments[1].Name != "allow-updates" {
			t.Errorf("share's autocomplete arguments %+v", sh)
		}
	}

	// The plugin-level subcommands, each replied to and, when it changes
	// something, committed.
	for _, step := range []struct{ text, reply string }{
		{"restart " + name, "Restarting **" + name + "**"},
		{"share " + name + " --allow-updates", "shared with the team"},
		{"list --shared-installations", "Nobody shares"},
		{"deletion-lock " + name, "is deletion-locked"},
		{"deletion-unlock " + name, "no longer deletion-locked"},
		{"retry " + name, "has not failed"},
		{"status", "environments"},
		{"upgrade " + name, "`/cloud upgrade` is now `/cloud update`"},
		{"restart nosuch" + sfx, "There is no environment named"},
	} {
		if reply := run(step.text); !strings.Contains(reply, step.reply) {
			t.Errorf("/cloud %s replied %q, want %q", step.text, reply, step.reply)
		}
	}
	if e := headEnvironment(ctx, t, repo, name); e.Spec.Installation.Env[commit.RestartEnv] == "" || e.Spec.Sharing == nil || e.Spec.Lifecycle.DeletionLocked {
		t.Errorf("after restart, share and lock/unlock: %+v", e.Spec)
	}
	if reply := run("mmctl " + name + " version"); !strings.Contains(reply, "```") && !strings.Contains(reply, "did not run") {
		t.Errorf("/cloud mmctl replied %q", reply)
	}

	// A failure reaches the fleet channel once, with the logs link.
	e = headEnvironment(ctx, t, repo, name)
	e.Status = rec.StatusOf(name).Status
	failed := reconciler.Transition{Kind: reconciler.TransitionFailed, Name: name, Environment: e, Message: "installation is update-failed"}
	b.Notify(ctx, failed)
	b.Notify(ctx, failed)
	waitForPost(ctx, t, rec, aliceC, fleet.Id, "**"+name+"** (owner @"+alice.Username+") failed: installation is update-failed")

	// An expiry notice: its Keep button, clicked through the server, is a
	// commit by the person.
	e = headEnvironment(ctx, t, repo, name)
	e.Status = rec.StatusOf(name).Status
	b.Notify(ctx, reconciler.Transition{Kind: reconciler.TransitionExpiring, Name: name, Environment: e,
		Message: "hibernated for 14d without activity", Deadline: time.Now().Add(20 * time.Hour)})
	notice := waitForPost(ctx, t, rec, aliceC, dm.Id, "will be deleted at")
	if _, err := aliceC.DoPostAction(ctx, notice.Id, "keep"); err != nil {
		t.Fatalf("clicking Keep: %v", err)
	}
	if e := headEnvironment(ctx, t, repo, name); !e.Spec.Lifecycle.Keep {
		t.Fatal("the Keep button committed nothing")
	}
	if p, _, err := aliceC.GetPost(ctx, notice.Id, ""); err != nil {
		t.Fatal(err)
	} else if len(p.Attachments()) != 0 || !strings.Contains(p.Message, "protected from housekeeping") {
		t.Errorf("the notice still offers buttons or does not say what was done: %q", p.Message)
	}

	if reply := run("delete " + name); !strings.Contains(reply, "Deleting **"+name+"**") {
		t.Fatalf("delete replied %q", reply)
	}
	waitForDM(ctx, t, rec, aliceC, dm.Id, "**"+name+"** is deleted")
	waitForPost(ctx, t, rec, aliceC, fleet.Id, "**"+name+"** (owner @"+alice.Username+") is deleted")
	posts, _, err := aliceC.GetPostsForChannel(ctx, fleet.Id, 0, 50, "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	failures := 0
	for _, p := range posts.Posts {
		if strings.Contains(p.Message, "failed: installation is update-failed") {
			failures++
		}
	}
	if failures != 1 {
		t.Errorf("%d fleet posts of one failure, want 1", failures)
	}
}

type execOf func(context.Context, reconciler.ExecRequest) (*reconciler.ExecResult, error)

func (f execOf) Exec(ctx context.Context, req reconciler.ExecRequest) (*reconciler.ExecResult, error) {
	return f(ctx, req)
}

type healthOf func(context.Context) (string, error)

func (f healthOf) PlatformHealth(ctx context.Context) (string, error) { return f(ctx) }

type statusOf func(string) *reconciler.Status

func (f statusOf) StatusOf(n string) *reconciler.Status { return f(n) }

func headEnvironment(ctx context.Context, t *testing.T, repo *store.Repo, name string) *envs.Environment {
	t.Helper()
	head, err := repo.Head(repo.Branch())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := repo.Load(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	e := snap.Environments[name].Env
	if e == nil {
		t.Fatalf("no environment %s at %s", name, head)
	}
	return e.DeepCopy()
}

// waitForDM runs reconcile passes until a message containing want arrives
// in the direct channel, and returns its text.
func waitForDM(ctx context.Context, t *testing.T, rec *reconciler.Reconciler, c *model.Client4, channel, want string) string {
	t.Helper()
	return waitForPost(ctx, t, rec, c, channel, want).Message
}

// waitForPost runs reconcile passes until a message containing want
// arrives in the direct channel, and returns it.
func waitForPost(ctx context.Context, t *testing.T, rec *reconciler.Reconciler, c *model.Client4, channel, want string) *model.Post {
	t.Helper()
	for {
		if _, err := rec.Pass(ctx, reconciler.PassOptions{}); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("pass: %v", err)
		}
		posts, _, err := c.GetPostsForChannel(ctx, channel, 0, 50, "", false, false)
		if err != nil {
			t.Fatalf("reading the direct channel: %v", err)
		}
		for _, p := range posts.Posts {
			if strings.Contains(p.Message, want) {
				return p
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no direct message containing %q", want)
		case <-time.After(300 * time.Millisecond):
		}
	}
}
