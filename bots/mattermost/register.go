package mattermost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// Trigger is the slash command word: /cloud, as with the cloud plugin.
const Trigger = "cloud"

// RegisterOptions say where to create the /cloud command.
type RegisterOptions struct {
	// ServerURL is the Mattermost server.
	ServerURL string
	// Token is an access token of a user allowed to manage slash commands
	// on the team (a system or team admin).
	Token string
	// Team is the team's name or ID.
	Team string
	// Endpoint is the URL the server posts commands to, e.g.
	// https://envwick.example.com/mattermost/command.
	Endpoint string
	// Trigger; default "cloud".
	Trigger string
	// Replace deletes an existing command with the same trigger first.
	Replace bool
	// HTTPClient; default http.DefaultClient.
	HTTPClient *http.Client
}

// Register creates the slash command on the server and returns it; its
// Token is what the bot must be configured with.
func Register(ctx context.Context, o RegisterOptions) (*model.Command, error) {
	if o.Trigger == "" {
		o.Trigger = Trigger
	}
	if o.ServerURL == "" || o.Token == "" || o.Team == "" || o.Endpoint == "" {
		return nil, errors.New("registering the slash command: the server URL, an admin token, the team and the endpoint are required")
	}
	if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registering the slash command: endpoint %q is not an http(s) URL", o.Endpoint)
	}
	c := model.NewAPIv4Client(strings.TrimRight(o.ServerURL, "/"))
	c.SetToken(o.Token)
	if o.HTTPClient != nil {
		c.HTTPClient = o.HTTPClient
	}
	team, _, err := c.GetTeamByName(ctx, o.Team, "")
	if err != nil {
		var byID error
		if team, _, byID = c.GetTeam(ctx, o.Team, ""); byID != nil {
			return nil, fmt.Errorf("finding team %q: %w", o.Team, redact(err))
		}
	}
	existing, _, err := c.ListCommands(ctx, team.Id, true)
	if err != nil {
		return nil, fmt.Errorf("listing the slash commands of team %s: %w", team.Name, redact(err))
	}
	for _, cmd := range existing {
		if cmd.Trigger != o.Trigger {
			continue
		}
		if !o.Replace {
			return nil, fmt.Errorf("team %s already has a /%s command (posting to %s); pass --replace to replace it", team.Name, o.Trigger, cmd.URL)
		}
		if _, err := c.DeleteCommand(ctx, cmd.Id); err != nil {
			return nil, fmt.Errorf("deleting the old /%s command: %w", o.Trigger, redact(err))
		}
	}
	commands := newCommands()
	created, _, err := c.CreateCommand(ctx, &model.Command{
		TeamId:           team.Id,
		Trigger:          o.Trigger,
		Method:           model.CommandMethodPost,
		URL:              o.Endpoint,
		Username:         "envwick",
		DisplayName:      "envwick",
		Description:      "Self-serve test environments: create, list, update, hibernate and delete them.",
		AutoComplete:     true,
		AutoCompleteDesc: autocompleteDesc(commands),
		AutoCompleteHint: autocompleteHint(commands),
		// Servers keep the tree of plugin commands; for a custom command
		// Mattermost (11.x) validates it but stores only hint and
		// description. Sent all the same, so a server that keeps it
		// suggests subcommands, flags and values.
		AutocompleteData: autocomplete(commands, o.Trigger),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the /%s command on team %s: %w", o.Trigger, team.Name, redact(err))
	}
	return created, nil
}
