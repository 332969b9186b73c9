package mattermost

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/envs"
)

// parsed is what the run functions read of a /cloud command line, through
// the same helpers they use.
type parsed struct {
	Verb         string
	Name         string
	Installation envs.Installation
	Set          []string
	ClearEnv     []string
	All          bool
	Duration     time.Duration
	Topic        string
}

// parse parses text with the bot's registry.
func parse(text string) (*parsed, error) {
	spec, in, err := newCommands().Parse(text)
	if err != nil {
		return nil, err
	}
	p := &parsed{Verb: spec.Name, Name: in.Arg("NAME"), Installation: installationOf(in), Set: in.Set(),
		All: in.Bool("all"), Duration: in.Duration("DURATION"), Topic: in.Arg("SUBCOMMAND")}
	if in.Given("clear-env") {
		p.ClearEnv, _ = clearEnvKeys(in)
	}
	return p, nil
}

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want parsed
	}{
		{"", parsed{Verb: "help"}},
		{"   ", parsed{Verb: "help"}},
		{"help", parsed{Verb: "help"}},
		{"help create", parsed{Verb: "help", Topic: "create"}},
		{"--help", parsed{Verb: "help"}},
		{"create --help", parsed{Verb: "help", Topic: "create"}},
		{"create -h", parsed{Verb: "help", Topic: "create"}},
		{"create conf42", parsed{Verb: "create", Name: "conf42"}},
		{"CREATE Conf42", parsed{Verb: "create", Name: "conf42"}},
		{"create conf42 --size miniHA", parsed{Verb: "create", Name: "conf42", Set: []string{"size"}, Installation: envs.Installation{Size: "miniHA"}}},
		{"create conf42 --size=provisionerXL-3", parsed{Verb: "create", Name: "conf42", Set: []string{"size"}, Installation: envs.Installation{Size: "provisionerXL-3"}}},
		{"create conf42 --version 10.5.0", parsed{Verb: "create", Name: "conf42", Set: []string{"version"}, Installation: envs.Installation{Version: "10.5.0"}}},
		{"create conf42 --image mattermost/mattermost-team-edition", parsed{Verb: "create", Name: "conf42", Set: []string{"image"}, Installation: envs.Installation{Image: "mattermost/mattermost-team-edition"}}},
		{"create conf42 --license e20", parsed{Verb: "create", Name: "conf42", Set: []string{"license"}, Installation: envs.Installation{License: "e20"}}},
		{"create conf42 --affinity isolated", parsed{Verb: "create", Name: "conf42", Set: []string{"affinity"}, Installation: envs.Installation{Affinity: "isolated"}}},
		{"create conf42 --database aws-rds-postgres", parsed{Verb: "create", Name: "conf42", Set: []string{"database"}, Installation: envs.Installation{Database: "aws-rds-postgres"}}},
		{"create conf42 --filestore aws-s3", parsed{Verb: "create", Name: "conf42", Set: []string{"filestore"}, Installation: envs.Installation{Filestore: "aws-s3"}}},
		{"create conf42 --test-data", parsed{Verb: "create", Name: "conf42", Set: []string{"test-data"}, Installation: envs.Installation{TestData: true}}},
		{"create --test-data conf42", parsed{Verb: "create", Name: "conf42", Set: []string{"test-data"}, Installation: envs.Installation{TestData: true}}},
		{"create conf42 --env A=1,B=x=y", parsed{Verb: "create", Name: "conf42", Set: []string{"env"}, Installation: envs.Installation{Env: map[string]string{"A": "1", "B": "x=y"}}}},
		{"create conf42 --env A=1 --env B=2", parsed{Verb: "create", Name: "conf42", Set: []string{"env"}, Installation: envs.Installation{Env: map[string]string{"A": "1", "B": "2"}}}},
		{`create conf42 --env "MM_GREETING=hello world"`, parsed{Verb: "create", Name: "conf42", Set: []string{"env"}, Installation: envs.Installation{Env: map[string]string{"MM_GREETING": "hello world"}}}},
		{"create conf42 --env \u201cMM_GREETING=hi there\u201d", parsed{Verb: "create", Name: "conf42", Set: []string{"env"}, Installation: envs.Installation{Env: map[string]string{"MM_GREETING": "hi there"}}}},
		{"create conf42 --license e20 --test-data", parsed{Verb: "create", Name: "conf42", Set: []string{"license", "test-data"}, Installation: envs.Installation{License: "e20", TestData: true}}},
		{"list", parsed{Verb: "list"}},
		{"list --all", parsed{Verb: "list", All: true, Set: []string{"all"}}},
		{"info conf42", parsed{Verb: "info", Name: "conf42"}},
		{"update conf42 --version 10.6.0", parsed{Verb: "update", Name: "conf42", Set: []string{"version"}, Installation: envs.Installation{Version: "10.6.0"}}},
		{"update conf42 --image mattermost/mm-te", parsed{Verb: "update", Name: "conf42", Set: []string{"image"}, Installation: envs.Installation{Image: "mattermost/mm-te"}}},
		{"update conf42 --license te", parsed{Verb: "update", Name: "conf42", Set: []string{"license"}, Installation: envs.Installation{License: "te"}}},
		{"update conf42 --size miniHA", parsed{Verb: "update", Name: "conf42", Set: []string{"size"}, Installation: envs.Installation{Size: "miniHA"}}},
		{"update conf42 --env A=1", parsed{Verb: "update", Name: "conf42", Set: []string{"env"}, Installation: envs.Installation{Env: map[string]string{"A": "1"}}}},
		{"update conf42 --clear-env A,B,A", parsed{Verb: "update", Name: "conf42", Set: []string{"clear-env"}, ClearEnv: []string{"A", "B"}}},
		{"hibernate conf42", parsed{Verb: "hibernate", Name: "conf42"}},
		{"wake-up conf42", parsed{Verb: "wake-up", Name: "conf42"}},
		{"wakeup conf42", parsed{Verb: "wake-up", Name: "conf42"}},
		{"delete conf42", parsed{Verb: "delete", Name: "conf42"}},
		{"extend conf42 3d", parsed{Verb: "extend", Name: "conf42", Duration: 72 * time.Hour}},
		{"extend conf42 1w12h", parsed{Verb: "extend", Name: "conf42", Duration: 180 * time.Hour}},
		{"keep conf42", parsed{Verb: "keep", Name: "conf42"}},
		{"unkeep conf42", parsed{Verb: "unkeep", Name: "conf42"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parse(tt.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.text, *got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text string
		// every substring must appear in the reply
		want []string
	}{
		{"frobnicate x", []string{`Unknown subcommand "frobnicate"`, "create, list, info, status, update, upgrade, restart, retry, hibernate, wake-up, delete, extend, keep, unkeep, share, unshare, deletion-lock, deletion-unlock, mmctl, help"}},
		{"help frobnicate", []string{`Unknown subcommand "frobnicate"`}},
		{"help create list", []string{`Unexpected argument "list"`, "`/cloud help [SUBCOMMAND]`"}},
		{"create", []string{"Missing NAME", "/cloud create NAME"}},
		{"create --size miniHA", []string{"Missing NAME"}},
		{"create a b", []string{`Unexpected argument "b"`}},
		{"create bad_name", []string{`invalid environment name "bad_name"`}},
		{"create -x", []string{"unknown shorthand flag", "--size"}},
		{"create conf42 --sise miniHA", []string{"unknown flag: --sise", "valid flags: --size, --version, --image, --license, --affinity, --database, --filestore, --test-data, --env"}},
		{"create conf42 --size huge", []string{`invalid size "huge"`, "miniSingleton", "miniHA"}},
		{"create conf42 --size", []string{"flag needs an argument", "--size"}},
		{"create conf42 --license gold", []string{`invalid license "gold"`, "enterprise, enterprise-advanced, professional, e20, e10, te"}},
		{"create conf42 --affinity shared", []string{`invalid affinity "shared"`, "isolated, multitenant"}},
		{"create conf42 --database sqlite", []string{`invalid database "sqlite"`, "aws-multitenant-rds-postgres-pgbouncer"}},
		{"create conf42 --filestore floppy", []string{`invalid filestore "floppy"`, "bifrost"}},
		{"create conf42 --image Bad/Image", []string{`invalid image "Bad/Image"`}},
		{"create conf42 --version 'not a tag'", []string{`invalid version "not a tag"`}},
		{"create conf42 --test-data=maybe", []string{"invalid argument", "test-data"}},
		{"create conf42 --env NOEQUALS", []string{`"NOEQUALS" is not in a valid env format`}},
		{"create conf42 --env 1A=x", []string{"not in a valid env format"}},
		{"create conf42 --env A=1,A=2", []string{"env var A was defined more than once"}},
		{"create conf42 --env ''", []string{"--env needs at least one"}},
		{"create conf42 --clear-env A", []string{"unknown flag: --clear-env"}},
		{`create "conf42`, []string{"Cannot read the command", "unterminated double-quoted string"}},
		{"create 'conf42", []string{"unterminated single-quoted string"}},
		{`create conf42 \`, []string{"unterminated backslash-escape"}},
		{"list extra", []string{`Unexpected argument "extra"`}},
		{"list --mine", []string{"unknown flag: --mine", "--all"}},
		{"info", []string{"Missing NAME"}},
		{"info a --size x", []string{"unknown flag: --size", "this subcommand takes no flags"}},
		{"update conf42", []string{"Nothing to update", "--version, --image, --license, --size, --env, --clear-env"}},
		{"update conf42 --affinity isolated", []string{"unknown flag: --affinity"}},
		{"update conf42 --clear-env '1X'", []string{`invalid environment variable name "1X"`}},
		{"update conf42 --clear-env ''", []string{"--clear-env needs at least one"}},
		{"hibernate", []string{"Missing NAME"}},
		{"wake-up", []string{"Missing NAME"}},
		{"delete", []string{"Missing NAME"}},
		{"delete a b", []string{"Unexpected argument"}},
		{"extend conf42", []string{"Missing DURATION"}},
		{"extend", []string{"Missing NAME and DURATION"}},
		{"extend conf42 soon", []string{`invalid duration "soon"`}},
		{"extend conf42 0s", []string{"longer than zero"}},
		{"keep", []string{"Missing NAME"}},
		{"unkeep", []string{"Missing NAME"}},
		{"create " + strings.Repeat("a", 64), []string{"invalid environment name"}},
		{strings.Repeat("x", command.MaxText+1), []string{"too long"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parse(tt.text)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.text, got)
			}
			var ce *command.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *command.Error", err)
			}
			// An error about one subcommand names it and shows its usage.
			if ce.Command != "" {
				name := strings.TrimPrefix(ce.Command, "/cloud ")
				if !strings.HasPrefix(err.Error(), "`"+ce.Command+"`: ") || !strings.HasSuffix(err.Error(), "\n\n"+newCommands().Usage(name)) {
					t.Errorf("reply %q does not name %s and show its usage", err, ce.Command)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
					t.Errorf("reply %q does not contain %q", err.Error(), w)
				}
			}
		})
	}
}

func TestUsageCoversEveryCommand(t *testing.T) {
	r := newCommands()
	over := r.Overview()
	if r.Names() != "create, list, info, status, update, upgrade, restart, retry, hibernate, wake-up, delete, extend, keep, unkeep, share, unshare, deletion-lock, deletion-unlock, mmctl, help" {
		t.Errorf("commands %s", r.Names())
	}
	for _, s := range r.Specs() {
		if !strings.Contains(over, "`/cloud "+s.Name) {
			t.Errorf("overview does not list %s", s.Name)
		}
		u := r.Usage(s.Name)
		if !strings.HasPrefix(u, "`/cloud "+s.Name) {
			t.Errorf("usage of %s = %q", s.Name, u)
		}
		for _, f := range s.Flags {
			if !strings.Contains(u, "--"+f.Name) {
				t.Errorf("usage of %s lacks --%s", s.Name, f.Name)
			}
		}
		if s.Run == nil || s.Permission == "" {
			t.Errorf("%s has no run function or no permission", s.Name)
		}
	}
}

// FuzzParse checks that no text makes parsing panic, and that every failure
// is a reply for the person (a *command.Error with a message) and every
// success a command the bot can act on.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "help", "create conf42 --license e20 --test-data", `create a --env "K=v w",L=2`,
		"update a --clear-env A,B", "extend a 1w2d", "list --all", "wake-up x", "create 'unterminated",
		"create a --size provisionerXL-12", "\u201ccreate\u201d a", "create a --=x", "create a -- --size",
		"keep a", "unkeep a", "delete a", "hibernate a", "info a", "create a --env A=1 --env A=2",
	} {
		f.Add(s)
	}
	r := newCommands()
	f.Fuzz(func(t *testing.T, text string) {
		spec, in, err := r.Parse(text)
		if err != nil {
			var ce *command.Error
			if !errors.As(err, &ce) || ce.Problem == "" {
				t.Fatalf("Parse(%q): error %v is not a reply", text, err)
			}
			if spec != nil || in != nil {
				t.Fatalf("Parse(%q): both a command and an error", text)
			}
			return
		}
		if spec == nil || in == nil {
			t.Fatalf("Parse(%q): no command and no error", text)
		}
		if _, ok := r.Lookup(spec.Name); !ok {
			t.Fatalf("Parse(%q): unknown command %q", text, spec.Name)
		}
		if len(spec.Args) > 0 && spec.Name != helpName {
			if checkName(in.Arg("NAME")) != nil {
				t.Fatalf("Parse(%q): invalid name %q accepted", text, in.Arg("NAME"))
			}
		}
		if spec.Name == "extend" && in.Duration("DURATION") <= 0 {
			t.Fatalf("Parse(%q): extend by %v", text, in.Duration("DURATION"))
		}
		if size := installationOf(in).Size; size != "" && !envs.ValidSize(size) {
			t.Fatalf("Parse(%q): invalid size %q accepted", text, size)
		}
	})
}
