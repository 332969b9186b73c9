package main

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/envwick/envwick/bots/commit"
)

// policyConfig is the committer's policy (commit.Policy): quotas, the owner
// rule, the extension and kept caps. It is configured once, here, and every
// bot's committer gets the same one.
type policyConfig struct {
	MaxEnvironments int
	MaxUnits        int
	SizeUnits       []string
	MaxPRs          int
	MaxKept         int
	MaxLocked       int
	MaxExtension    time.Duration
	MaxLifetime     time.Duration
}

// policyDefaults are the flag defaults: commit.Policy's.
var policyDefaults = commit.Policy{}.WithDefaults()

func (c *policyConfig) addFlags(fs *pflag.FlagSet) {
	// count registers a count flag, and its former chat-bot name (and
	// variable) as a deprecated alias of it.
	count := func(p *int, name, old string, def int, usage string) {
		def = envInt(name, def)
		if old != "" {
			def = envInt(name, envInt(old, def))
		}
		fs.IntVar(p, name, def, usage+" (-1: no limit) ["+envName(name)+"]")
		if old != "" {
			fs.IntVar(p, old, def, "use --"+name+" ["+envName(old)+"]")
			fs.MarkDeprecated(old, "use --"+name)
		}
	}
	count(&c.MaxEnvironments, "max-environments", "mattermost-max-environments", policyDefaults.MaxEnvironments,
		"environments one owner may have outside pull requests")
	count(&c.MaxUnits, "max-size-units", "", policyDefaults.MaxUnits,
		"size units those environments may count together (see --size-units)")
	count(&c.MaxPRs, "max-pr-environments", "", policyDefaults.MaxPullRequestEnvironments,
		"pull-request environments one author may have")
	count(&c.MaxKept, "max-kept", "mattermost-max-kept", policyDefaults.MaxKept,
		"environments one owner may keep from housekeeping")
	count(&c.MaxLocked, "max-deletion-locked", "", policyDefaults.MaxDeletionLocked,
		"environments one owner may have under the platform's deletion lock")

	var units []string
	if v := envString("size-units", ""); v != "" {
		units = strings.Split(v, ",")
	}
	fs.StringSliceVar(&c.SizeUnits, "size-units", units,
		"what installation sizes count toward --max-size-units, SIZE=UNITS, over the defaults ("+unitTable(policyDefaults.Units)+") ["+envName("size-units")+"]")

	extension := envDuration("max-extension", envDuration("mattermost-max-extension", policyDefaults.MaxExtension))
	durationVar(fs, &c.MaxExtension, "max-extension", extension, "longest one extension may be ["+envName("max-extension")+"]")
	durationVar(fs, &c.MaxExtension, "mattermost-max-extension", extension, "use --max-extension ["+envName("mattermost-max-extension")+"]")
	fs.MarkDeprecated("mattermost-max-extension", "use --max-extension")
	durationVar(fs, &c.MaxLifetime, "max-lifetime", envDuration("max-lifetime", policyDefaults.MaxLifetime),
		"longest lifetime an extension may give: a time to live, or an expiry counted from now ["+envName("max-lifetime")+"]")
}

// policy returns the configured commit.Policy. Zero is refused rather than
// read as "the default", which is what commit.Policy would make of it.
func (c *policyConfig) policy() (commit.Policy, error) {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"max-environments", c.MaxEnvironments}, {"max-size-units", c.MaxUnits}, {"max-pr-environments", c.MaxPRs}, {"max-kept", c.MaxKept}, {"max-deletion-locked", c.MaxLocked}} {
		if f.v == 0 {
			errs = append(errs, fmt.Errorf("--%s 0: use a positive number, or -1 for no limit", f.name))
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"max-extension", c.MaxExtension}, {"max-lifetime", c.MaxLifetime}} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s %s: use a positive duration", f.name, time.Duration(f.v)))
		}
	}
	units := maps.Clone(policyDefaults.Units)
	for _, kv := range c.SizeUnits {
		size, n, ok := strings.Cut(strings.TrimSpace(kv), "=")
		u, err := strconv.Atoi(n)
		if !ok || err != nil {
			errs = append(errs, fmt.Errorf("--size-units %q: want SIZE=UNITS, such as miniHA=2", kv))
			continue
		}
		units[size] = u
	}
	p := commit.Policy{
		MaxEnvironments: c.MaxEnvironments, MaxUnits: c.MaxUnits, Units: units,
		MaxPullRequestEnvironments: c.MaxPRs, MaxKept: c.MaxKept, MaxDeletionLocked: c.MaxLocked,
		MaxExtension: c.MaxExtension, MaxLifetime: c.MaxLifetime,
	}
	if err := p.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--size-units: %w", err))
	}
	return p, errors.Join(errs...)
}

func unitTable(units map[string]int) string {
	var kv []string
	for _, size := range slices.Sorted(maps.Keys(units)) {
		kv = append(kv, size+"="+strconv.Itoa(units[size]))
	}
	return strings.Join(kv, ",")
}

// committer returns a committer to the system's envs repository with the
// configured policy: every bot commits through one built here.
func (s *System) committer(ledger *commit.Ledger, log *slog.Logger) (*commit.Committer, error) {
	p, err := s.Config.Policy.policy()
	if err != nil {
		return nil, err
	}
	if s.Licenses != nil {
		p.Licenses = s.Licenses // an unknown license name is refused at commit time
	}
	return commit.New(s.Repo, commit.Options{Ledger: ledger, Policy: p, Logger: log}), nil
}
