package mattermost

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/envs"
)

// cloudRun carries out one /cloud command for a person who may use the
// bot, and returns the reply. A *refusal, or an error of bots/commit, is
// rendered for the person; any other error is a problem on our side.
type cloudRun func(a *action, ctx context.Context) (string, error)

// cloudSpec is one /cloud subcommand; each has its file (cmd_*.go). The
// subcommands, flag names and values are those of the Mattermost cloud
// plugin's /cloud command, so people who used it feel at home.
type cloudSpec = command.Spec[cloudRun]

// ownerOrAdmin is the permission of commands that change an existing
// environment: its owner or a configured admin. execute checks it before
// the run function, and mutate again inside the commit.
const ownerOrAdmin command.Permission = "its owner or an admin"

// ownerOrShared is the permission of commands that change what an
// environment runs: its owner, an admin, or anyone when the owner shared it
// with updates allowed (/cloud share NAME --allow-updates).
const ownerOrShared command.Permission = "its owner or an admin; anyone when shared with --allow-updates"

// helpName is the help command, which runs before the person is looked up.
const helpName = "help"

// newCommands builds the /cloud registry, in the order help lists it.
// Building it needs no bot, so register can send its autocomplete tree.
func newCommands() *command.Registry[cloudRun] {
	r := command.New[cloudRun]("/"+Trigger, command.Options{Help: helpName, EmptyIsHelp: true,
		Footer: "Quote values with spaces: `--env 'MM_X=a b'`."})
	for _, s := range []cloudSpec{
		createCommand(), listCommand(), infoCommand(), statusCommand(), updateCommand(), upgradeCommand(), restartCommand(),
		retryCommand(), hibernateCommand(), wakeUpCommand(), deleteCommand(), extendCommand(), keepCommand(), unkeepCommand(),
		shareCommand(), unshareCommand(), deletionLockCommand(), deletionUnlockCommand(), mmctlCommand(), helpCommand(),
	} {
		r.Add(s)
	}
	return r
}

// nameArg is the environment a command is about.
func nameArg(help string) command.Arg {
	return command.Arg{Name: "NAME", Help: help, Normalize: strings.ToLower, Check: checkName, Pattern: nameRE.String()}
}

// nameRE is the plugin's installation name rule narrowed to what a file
// name and a DNS label both accept (names are lower-cased first).
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkName reports whether name can name an environment.
func checkName(name string) error {
	if nameRE.MatchString(name) {
		return nil
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Errorf("the environment name must come before the flags and must not start with -: %q", name)
	}
	return fmt.Errorf("invalid environment name %q: use 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit", name)
}

var (
	// versionRE admits image tags (docker's tag grammar).
	versionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// imageRE admits image repository references without a tag.
	imageRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	// envKeyRE is an environment variable name.
	envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// The installation flags; a flag left out is not written, so the fleet's
// defaults apply.
func sizeFlag() command.Flag {
	return command.SizeFlag("installation size, or provisionerXL-N")
}

func versionFlag() command.Flag {
	return command.Flag{Name: "version", Value: "VERSION", Check: command.Matching("version", versionRE), Help: "Mattermost version (image tag), e.g. 10.5.0"}
}

func imageFlag() command.Flag {
	return command.Flag{Name: "image", Value: "IMAGE", Check: command.Matching("image", imageRE), Help: "container image repository, e.g. mattermost/mattermost-enterprise-edition"}
}

func licenseFlag() command.Flag {
	return command.Flag{Name: "license", Value: "LICENSE", Values: envs.Licenses(), Help: "license"}
}

func envFlag() command.Flag {
	return command.Flag{Name: "env", Kind: command.List, Value: "KEY=VALUE", Help: "Mattermost environment variables"}
}

// installationOf reads the installation flags given.
func installationOf(in *command.Input) envs.Installation {
	env, _ := parseEnv(in.List("env"))
	return envs.Installation{
		Size: in.String("size"), Version: in.String("version"), Image: in.String("image"), License: in.String("license"),
		Affinity: in.String("affinity"), Database: in.String("database"), Filestore: in.String("filestore"),
		TestData: in.Bool("test-data"), Env: env,
	}
}

// checkEnvFlags checks --env (and --clear-env) as a whole: every key at
// most once, none empty.
func checkEnvFlags(in *command.Input) error {
	if in.Given("env") {
		if _, err := parseEnv(in.List("env")); err != nil {
			return err
		}
	}
	if in.Given("clear-env") {
		if _, err := clearEnvKeys(in); err != nil {
			return err
		}
	}
	return nil
}

// parseEnv reads KEY=VALUE pairs the way the plugin does: split once on
// "=", every key at most once.
func parseEnv(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("--env needs at least one KEY=VALUE")
	}
	env := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !envKeyRE.MatchString(k) {
			return nil, fmt.Errorf("%q is not in a valid env format; expecting KEY_NAME=VALUE", p)
		}
		if _, dup := env[k]; dup {
			return nil, fmt.Errorf("env var %s was defined more than once", k)
		}
		env[k] = v
	}
	return env, nil
}

// clearEnvKeys reads --clear-env: variable names, each once.
func clearEnvKeys(in *command.Input) ([]string, error) {
	var keys []string
	for _, k := range in.List("clear-env") {
		if !envKeyRE.MatchString(k) {
			return nil, fmt.Errorf("invalid environment variable name %q in --clear-env", k)
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("--clear-env needs at least one variable name")
	}
	return keys, nil
}
