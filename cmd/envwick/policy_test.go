package main

import (
	"testing"
	"time"
)

// The policy is configured once, for serve and dev, with the chat bot's
// former flag names and variables still read.
func TestPolicyFlags(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, c *policyConfig)
		want  string // substring of the error; empty: no error
	}{
		{name: "defaults", check: func(t *testing.T, c *policyConfig) {
			p, _ := c.policy()
			if p.MaxEnvironments != 3 || p.MaxUnits != 8 || p.MaxPullRequestEnvironments != 5 || p.MaxKept != 1 ||
				p.MaxExtension != 7*day || p.MaxLifetime != 30*day || p.UnitsOf("miniHA") != 2 {
				t.Errorf("policy %+v", p)
			}
		}},
		{name: "flags", args: []string{"--max-environments=5", "--max-size-units=-1", "--max-pr-environments=2", "--max-kept=-1",
			"--max-extension=2d", "--max-lifetime=2w", "--size-units=miniHA=3,1000users=9"},
			check: func(t *testing.T, c *policyConfig) {
				p, _ := c.policy()
				if p.MaxEnvironments != 5 || p.MaxUnits != -1 || p.MaxPullRequestEnvironments != 2 || p.MaxKept != -1 ||
					p.MaxExtension != 2*day || p.MaxLifetime != 14*day || p.UnitsOf("miniHA") != 3 || p.UnitsOf("1000users") != 9 || p.UnitsOf("miniSingleton") != 1 {
					t.Errorf("policy %+v", p)
				}
			}},
		{name: "variables", env: map[string]string{"ENVWICK_MAX_ENVIRONMENTS": "4", "ENVWICK_SIZE_UNITS": "miniHA=1", "ENVWICK_MAX_LIFETIME": "10d"},
			check: func(t *testing.T, c *policyConfig) {
				p, _ := c.policy()
				if p.MaxEnvironments != 4 || p.UnitsOf("miniHA") != 1 || p.MaxLifetime != 10*day {
					t.Errorf("policy %+v", p)
				}
			}},
		{name: "the chat bot's former flags", args: []string{"--mattermost-max-environments=6", "--mattermost-max-kept=2", "--mattermost-max-extension=1d"},
			check: func(t *testing.T, c *policyConfig) {
				if c.MaxEnvironments != 6 || c.MaxKept != 2 || c.MaxExtension != day {
					t.Errorf("policy %+v", c)
				}
			}},
		{name: "the chat bot's former variables", env: map[string]string{"ENVWICK_MATTERMOST_MAX_ENVIRONMENTS": "6", "ENVWICK_MATTERMOST_MAX_EXTENSION": "2d"},
			check: func(t *testing.T, c *policyConfig) {
				if c.MaxEnvironments != 6 || c.MaxExtension != 2*day {
					t.Errorf("policy %+v", c)
				}
			}},
		{name: "zero is no default", args: []string{"--max-kept=0"}, want: "--max-kept 0: use a positive number, or -1 for no limit"},
		{name: "a unit table entry that is no size", args: []string{"--size-units=huge=3"}, want: `"huge" is not an installation size`},
		{name: "a unit table entry that is no number", args: []string{"--size-units=miniHA"}, want: `--size-units "miniHA": want SIZE=UNITS`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := parseServeFlags(t, tc.env, tc.args)
			_, err := cfg.Policy.policy()
			wantError(t, err, tc.want)
			if tc.check != nil {
				tc.check(t, &cfg.Policy)
			}
		})
	}
}
