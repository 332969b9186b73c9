package mattermost

import (
	"context"
	"fmt"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func updateCommand() cloudSpec {
	s := cloudSpec{Name: "update", Summary: "change what an environment runs", Permission: ownerOrShared,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).update,
		Flags: []command.Flag{versionFlag(), imageFlag(), licenseFlag(), sizeFlag(), envFlag(),
			{Name: "clear-env", Kind: command.List, Value: "KEY", Help: "environment variables to remove"}}}
	s.Check = func(in *command.Input) error {
		if len(in.Set()) == 0 {
			return fmt.Errorf("nothing to update: give at least one of %s", s.FlagNames())
		}
		return checkEnvFlags(in)
	}
	return s
}

// update changes only the flags given.
func (a *action) update(ctx context.Context) (string, error) {
	given := installationOf(a.in)
	set := func(e *envs.Environment) error {
		in := &e.Spec.Installation
		for _, f := range a.in.Set() {
			switch f {
			case "version":
				in.Version = given.Version
			case "image":
				in.Image = given.Image
			case "license":
				in.License = given.License
			case "size":
				in.Size = given.Size
			}
		}
		return nil
	}
	muts := []commit.Mutation{set}
	if len(given.Env) > 0 {
		muts = append(muts, commit.SetEnv(given.Env))
	}
	if keys, err := clearEnvKeys(a.in); err == nil {
		clear := map[string]string{}
		for _, k := range keys {
			clear[k] = ""
		}
		muts = append(muts, commit.SetEnv(clear))
	}
	return a.mutate(ctx, "Updating **%s**. You will get a message when the update is done.", muts...)
}
