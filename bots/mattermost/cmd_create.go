package mattermost

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func createCommand() cloudSpec {
	return cloudSpec{Name: "create", Summary: "create an environment owned by you, within your quota", Permission: command.Anyone,
		Args: []command.Arg{nameArg("the new environment's name: 1 to 63 letters, digits and hyphens")},
		Flags: []command.Flag{sizeFlag(), versionFlag(), imageFlag(), licenseFlag(),
			{Name: "affinity", Value: "AFFINITY", Values: envs.Affinities(), Help: "isolated or multitenant"},
			{Name: "database", Value: "DATABASE", Values: envs.Databases(), Help: "database type"},
			{Name: "filestore", Value: "FILESTORE", Values: envs.Filestores(), Help: "filestore type"},
			{Name: "test-data", Kind: command.Bool, Help: "load sample data once the installation is ready"},
			envFlag(),
		},
		Check: checkEnvFlags, Run: (*action).create}
}

func (a *action) create(ctx context.Context) (string, error) {
	if e := a.env; e != nil {
		return "", refuse("The name **%s** is already in use (owner %s). Pick another name.", a.name, ownerName(e))
	}
	e := &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: a.name},
		Spec: envs.EnvironmentSpec{
			Owner: envs.Owner{Mattermost: a.who.Username, Email: a.who.Email},
			Source: envs.Source{Chat: &envs.ChatSource{
				User: a.who.Username, UserID: a.who.ID, Channel: a.req.ChannelID, Team: a.req.TeamID,
			}},
			Installation: installationOf(a.in),
		},
	}
	if ps := envs.Validate(e); len(ps) > 0 {
		return "", &commit.InvalidError{Name: e.Name, Problems: ps}
	}
	res, err := a.bot.commits.Create(ctx, a.meta(), e)
	if err != nil {
		return "", err
	}
	a.bot.rememberOwner(e.Name, a.who.ID)
	return fmt.Sprintf("Creating **%s**%s. You will get a direct message when it is ready; `/cloud info %s` shows its progress.",
		e.Name, committed(res), e.Name), nil
}
