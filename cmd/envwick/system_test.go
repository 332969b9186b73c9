package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// A malformed ENVWICK_* value is an error naming the variable, not a
// silent fall back to the default.
func TestCheckEnvFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // substring of the error; empty: no error
	}{
		{name: "nothing set"},
		{name: "valid values", env: map[string]string{"ENVWICK_INTERVAL": "2d", "ENVWICK_CONCURRENCY": "4", "ENVWICK_REQUEST_RATE": "1.5", "ENVWICK_NO_HOUSEKEEPING": "true"}},
		{name: "duration without a unit", env: map[string]string{"ENVWICK_INTERVAL": "5"}, want: `ENVWICK_INTERVAL="5" is not a valid duration for --interval`},
		{name: "int", env: map[string]string{"ENVWICK_CONCURRENCY": "ten"}, want: "ENVWICK_CONCURRENCY"},
		{name: "float", env: map[string]string{"ENVWICK_MAX_DELETE_SHARE": "20%"}, want: "ENVWICK_MAX_DELETE_SHARE"},
		{name: "bool", env: map[string]string{"ENVWICK_ALLOW_MASS_DELETION": "yes please"}, want: "ENVWICK_ALLOW_MASS_DELETION"},
		{name: "bot flag", env: map[string]string{"ENVWICK_MATTERMOST_MAX_KEPT": "one"}, want: "ENVWICK_MATTERMOST_MAX_KEPT"},
		{name: "the command line wins", env: map[string]string{"ENVWICK_CONCURRENCY": "ten"}, args: []string{"--concurrency", "3"}},
		{name: "empty is unset", env: map[string]string{"ENVWICK_CONCURRENCY": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fs := parseServeFlags(t, tc.env, tc.args)
			wantError(t, checkEnvFlags(fs), tc.want)
		})
	}
}

// parseServeFlags parses args as serve's flags, with the environment
// variables env set.
func parseServeFlags(t *testing.T, env map[string]string, args []string) (*systemConfig, *pflag.FlagSet) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var cfg systemConfig
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.addServeFlags(fs, "127.0.0.1:0")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &cfg, fs
}

// wantError fails unless err contains want; an empty want is no error.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}
