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
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var cfg systemConfig
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			cfg.addServeFlags(fs, "127.0.0.1:0")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := checkEnvFlags(fs)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
