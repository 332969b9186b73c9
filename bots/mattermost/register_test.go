package mattermost

import (
	"context"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

func TestRegister(t *testing.T) {
	mm := newFakeMM(t)
	admin := mm.addUser("admin", "admin@example.com", "", "")
	mm.addToken(admin, "admin-token")
	teamID := mm.addTeam("qa")
	ctx := context.Background()
	opts := RegisterOptions{ServerURL: mm.URL(), Token: "admin-token", Team: "qa", Endpoint: "https://envwick.example.com/mattermost/command"}

	cmd, err := Register(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Token == "" || cmd.TeamId != teamID || cmd.Trigger != "cloud" || cmd.Method != model.CommandMethodPost ||
		cmd.URL != opts.Endpoint || !cmd.AutoComplete || cmd.AutoCompleteHint == "" || cmd.AutoCompleteDesc == "" {
		t.Fatalf("command %+v", cmd)
	}
	// The command carries the autocomplete tree of the registry, as the
	// server received it.
	stored := mm.commands[cmd.Id]
	want := autocomplete(newCommands(), "cloud")
	if stored == nil || stored.AutocompleteData == nil || !stored.AutocompleteData.Equals(want) || !cmd.AutocompleteData.Equals(want) {
		t.Fatalf("autocomplete tree not registered: %+v", stored)
	}
	if cmd.AutoCompleteHint != "[create|list|info|status|update|upgrade|restart|retry|hibernate|wake-up|delete|extend|keep|unkeep|share|unshare|deletion-lock|deletion-unlock|mmctl|help]" {
		t.Errorf("hint %q", cmd.AutoCompleteHint)
	}
	// A second registration is refused unless asked to replace.
	if _, err := Register(ctx, opts); err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("second registration: %v", err)
	}
	opts.Replace, opts.Team = true, teamID // by ID works too
	again, err := Register(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Token == cmd.Token || len(mm.commands) != 1 {
		t.Fatalf("replace: %d commands", len(mm.commands))
	}
	opts.Trigger = "envs"
	other, err := Register(ctx, opts)
	if err != nil || other.AutocompleteData.Trigger != "envs" || len(mm.commands) != 2 {
		t.Fatalf("another trigger: %+v, %v", other, err)
	}

	for _, bad := range []RegisterOptions{
		{ServerURL: mm.URL(), Token: "admin-token", Team: "qa", Endpoint: opts.Endpoint, Trigger: "Bad Trigger"},
		{ServerURL: mm.URL(), Token: "admin-token", Team: "qa", Endpoint: "not a url"},
		{ServerURL: mm.URL(), Token: "wrong", Team: "qa", Endpoint: opts.Endpoint},
		{ServerURL: mm.URL(), Token: "admin-token", Team: "nope", Endpoint: opts.Endpoint},
		{ServerURL: mm.URL(), Team: "qa", Endpoint: opts.Endpoint},
	} {
		if _, err := Register(ctx, bad); err == nil {
			t.Errorf("Register(%+v) succeeded", bad)
		} else if strings.Contains(err.Error(), "admin-token") {
			t.Errorf("error shows the token: %v", err)
		}
	}
}
