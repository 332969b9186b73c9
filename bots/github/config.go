// Package githubbot is envwick's GitHub bot: it turns pull-request labels,
// pushes, closes and "/env" comment commands into commits to the envs
// repository (through bots/commit), and turns the reconciler's transitions
// into one comment per pull-request environment, edited in place, and a
// commit status on the pull request's head.
//
// The webhook endpoint follows Prow's hook: verify the HMAC signature,
// demultiplex by event type, and hand each event to small registered
// handlers; "/env help" is generated from the registered commands.
package githubbot

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/envwick/envwick/envs"
)

// Template is what a label asks for.
type Template struct {
	// Size is the installation size.
	Size string `json:"size"`
	// License is the license name, empty for none.
	License string `json:"license,omitempty"`
	// Env holds Mattermost environment variables.
	Env map[string]string `json:"env,omitempty"`
}

// The labels the seed platform used, kept so that people's habits carry
// over.
const (
	LabelCloud    = "Setup Cloud Test Server"
	LabelCloudHA  = "Setup HA Cloud Test Server"
	LabelCloudCWS = "Setup Cloud + CWS Test Server"
)

// DefaultTemplates returns the seed platform's label map: a single-node
// server, an HA server with the enterprise (E20) license HA needs, and a
// server wired to a test Customer Web Server.
func DefaultTemplates() map[string]Template {
	return map[string]Template{
		LabelCloud:   {Size: "miniSingleton"},
		LabelCloudHA: {Size: "miniHA", License: "e20"},
		LabelCloudCWS: {Size: "miniSingleton", License: "enterprise", Env: map[string]string{
			"MM_CLOUDSETTINGS_CWSURL":    "https://portal.test.cloud.mattermost.com",
			"MM_CLOUDSETTINGS_CWSAPIURL": "https://portal.internal.test.cloud.mattermost.com",
		}},
	}
}

// VersionRule says how a pull request head becomes the installation
// version (the image tag).
type VersionRule string

const (
	// VersionSHA uses the full head SHA.
	VersionSHA VersionRule = "sha"
	// VersionShortSHA uses the first 7 characters of the head SHA, the
	// tag most CI pipelines push.
	VersionShortSHA VersionRule = "sha7"
)

// Config is what the bot serves and how.
type Config struct {
	// Secrets are the webhook secrets; at least one is required, and two
	// let a secret be rotated without dropping deliveries.
	Secrets []string
	// Repositories served, as "owner/name". Events from others are ignored.
	Repositories []string
	// Templates maps PR labels to what they ask for.
	Templates map[string]Template
	// DefaultTemplate is the label whose template "/env create" uses.
	DefaultTemplate string
	// Images maps "owner/name" to the Mattermost image built from it;
	// DefaultImage serves repositories not listed.
	Images       map[string]string
	DefaultImage string
	// Version is the rule from head SHA to installation version.
	Version VersionRule
	// ServeForks lets PRs whose head is in a fork get environments.
	// Off by default: a fork's code would run with the org's test license.
	ServeForks bool
	// CommandPermission is the lowest repository permission allowed to
	// run /env commands: read, triage, write (default), maintain or admin.
	CommandPermission string
	// EnvsRepository is the envs repository on GitHub ("owner/name"), for
	// checks on its pull requests; empty disables them.
	EnvsRepository string
	// MaxPayload caps a webhook body; default 25 MiB, GitHub's own cap.
	MaxPayload int64
	// StatusContext is the commit status context; default
	// "envwick/test-server".
	StatusContext string
	// CredentialsHelp tells people how to get the credentials of an
	// environment; never credentials themselves.
	CredentialsHelp string
	// LogsURL is a template of a link to an installation's logs, with {id}
	// (the installation ID) and {name} (the environment); the environment
	// comment carries it when ready, updated or failed. Empty: no link.
	LogsURL string
}

// E2ELabelPrefix starts the source label of the environments the pull
// request automation makes for end-to-end runs ("e2e/SUITE"). They report
// through their own commit status, so the test-server comment and status
// leave them alone.
const E2ELabelPrefix = "e2e/"

// DefaultMaxPayload is GitHub's own cap on webhook payloads.
const DefaultMaxPayload = 25 << 20

// DefaultStatusContext is the commit status context the bot posts.
const DefaultStatusContext = "envwick/test-server"

var permissionRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// withDefaults fills in defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	c.Secrets = slices.DeleteFunc(slices.Clone(c.Secrets), func(s string) bool { return s == "" })
	if len(c.Secrets) == 0 {
		return c, fmt.Errorf("github bot: a webhook secret is required: unsigned webhooks would let anyone create environments")
	}
	if len(c.Secrets) > 2 {
		return c, fmt.Errorf("github bot: at most two webhook secrets (current and next), got %d", len(c.Secrets))
	}
	if c.Templates == nil {
		c.Templates = DefaultTemplates()
	}
	for label, t := range c.Templates {
		if !envs.ValidSize(t.Size) {
			return c, fmt.Errorf("github bot: label %q: unknown size %q (valid: %s)", label, t.Size, strings.Join(envs.Sizes(), ", "))
		}
	}
	if c.DefaultTemplate == "" {
		c.DefaultTemplate = LabelCloud
		if _, ok := c.Templates[c.DefaultTemplate]; !ok {
			c.DefaultTemplate = slices.Sorted(maps.Keys(c.Templates))[0]
		}
	}
	if _, ok := c.Templates[c.DefaultTemplate]; !ok {
		return c, fmt.Errorf("github bot: default template %q is not a configured label", c.DefaultTemplate)
	}
	for _, r := range c.Repositories {
		if !repoRE.MatchString(r) {
			return c, fmt.Errorf("github bot: repository %q: want owner/name", r)
		}
	}
	switch c.Version {
	case "":
		c.Version = VersionSHA
	case VersionSHA, VersionShortSHA:
	default:
		return c, fmt.Errorf("github bot: version rule %q: want %q or %q", c.Version, VersionSHA, VersionShortSHA)
	}
	if c.CommandPermission == "" {
		c.CommandPermission = "write"
	}
	if _, ok := permissionRank[c.CommandPermission]; !ok {
		return c, fmt.Errorf("github bot: command permission %q: want read, triage, write, maintain or admin", c.CommandPermission)
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.StatusContext == "" {
		c.StatusContext = DefaultStatusContext
	}
	if c.CredentialsHelp == "" {
		c.CredentialsHelp = "Ask in ~developers-cloud for the test credentials; they are never posted on GitHub."
	}
	return c, nil
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// serves reports whether events from repo are handled. An empty list serves
// every repository the bot is installed on.
func (c Config) serves(repo string) bool {
	return len(c.Repositories) == 0 || slices.ContainsFunc(c.Repositories, func(r string) bool { return strings.EqualFold(r, repo) })
}

func (c Config) image(repo string) string {
	for r, img := range c.Images {
		if strings.EqualFold(r, repo) {
			return img
		}
	}
	return c.DefaultImage
}

func (c Config) version(sha string) string {
	if c.Version == VersionShortSHA && len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// EnvironmentName is the environment of pull request number of repo
// ("owner/name"): "<name>-pr-<number>", the repository name made a DNS label
// and shortened so the whole fits in 63 characters.
func EnvironmentName(repo string, number int) string {
	if i := strings.LastIndexByte(repo, '/'); i >= 0 {
		repo = repo[i+1:]
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(repo) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	suffix := "-pr-" + strconv.Itoa(number)
	base := strings.Trim(b.String(), "-")
	if len(base)+len(suffix) > 63 {
		base = strings.TrimRight(base[:63-len(suffix)], "-")
	}
	if base == "" {
		base = "repo"
	}
	return base + suffix
}
