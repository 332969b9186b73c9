package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
