package mattermost

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

// Config is what an operator sets for the chat bot. See docs/chat-bot.md
// for the matching flags and environment variables.
type Config struct {
	// Tokens are the slash command tokens accepted (several, so a token can
	// be rotated without downtime, or one bot serve several servers).
	Tokens []string
	// ServerURL is the Mattermost server the bot talks to with BotToken,
	// e.g. https://chat.example.com.
	ServerURL string
	// BotToken is the access token of the bot account that looks people up
	// and sends direct messages.
	BotToken string
	// PublicURL is where the Mattermost server reaches envwick, e.g.
	// https://envwick.example.com; button callbacks go to
	// PublicURL + ActionsPath.
	PublicURL string
	// ActionKey signs the context of interactive buttons. Required for
	// buttons; without it expiry notices carry none.
	ActionKey []byte

	// AllowedEmailDomains, when set, limits commands to people whose
	// Mattermost email is in one of these domains.
	AllowedEmailDomains []string
	// AllowedTeams, when set, limits commands to these teams (ID or name).
	AllowedTeams []string
	// Admins may act on anyone's environment and are bound by no quota
	// (Mattermost usernames or IDs). Quotas, the extension and kept caps
	// and the owner rule are the committer's commit.Policy, shared by every
	// bot.
	Admins []string

	// ButtonExtension is how much the Extend button adds (default 3 days,
	// or the policy's MaxExtension when that is shorter).
	ButtonExtension time.Duration
	// ReplyBudget is how long a command may run before the reply says
	// "working on it" and the result follows through the response URL
	// (default 2 s; Mattermost gives up after 3 s).
	ReplyBudget time.Duration
	// FleetChannels are channel IDs that hear about the whole fleet:
	// failures, deletions and a daily report (the bot must be a member).
	FleetChannels []string
	// FleetLedger is a file remembering the fleet posts made, so that none
	// is repeated, also after a restart; empty keeps them in memory only.
	FleetLedger string
	// ReportHour is the UTC hour of the daily fleet report (0-23).
	ReportHour int
	// GitHubUsers maps GitHub logins to Mattermost usernames, so that
	// pull request environments' owners get their direct messages.
	GitHubUsers map[string]string
	// CredentialsChannel is the private channel ID that gets a pull
	// request environment's accounts when its author maps to nobody on
	// Mattermost. Empty: those accounts are not created.
	CredentialsChannel string
	// LogsURL is a template of a link to an installation's logs, with
	// {id} (the installation ID) and {name} (the environment); direct
	// messages carry it. Empty: no link.
	LogsURL string
	// CredentialEmailDomain is the domain of the accounts created on new
	// installations (default example.com).
	CredentialEmailDomain string
}

// Routes the Handler serves.
const (
	CommandPath = "/mattermost/command"
	ActionsPath = "/mattermost/actions"
)

func (c *Config) setDefaults() {
	if c.ReplyBudget <= 0 {
		c.ReplyBudget = 2 * time.Second
	}
	if c.CredentialEmailDomain == "" {
		c.CredentialEmailDomain = "example.com"
	}
	c.ServerURL = strings.TrimRight(c.ServerURL, "/")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
}

// validate reports configuration mistakes, never echoing a secret.
func (c *Config) validate() error {
	var errs []error
	if len(c.Tokens) == 0 {
		errs = append(errs, errors.New("no slash command token: every request would be refused"))
	}
	if slices.Contains(c.Tokens, "") {
		errs = append(errs, errors.New("an empty slash command token"))
	}
	for _, u := range []struct{ name, v string }{{"server URL", c.ServerURL}, {"public URL", c.PublicURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", u.name, u.v))
		}
	}
	if c.ReportHour < 0 || c.ReportHour > 23 {
		errs = append(errs, fmt.Errorf("report hour %d is not an hour of the day (0-23)", c.ReportHour))
	}
	if c.ServerURL != "" && c.BotToken == "" {
		errs = append(errs, errors.New("a server URL without a bot token"))
	}
	return errors.Join(errs...)
}

// fitButton defaults the Extend button to what the policy allows, and
// refuses a button the policy would refuse every time.
func (c *Config) fitButton(p commit.Policy) error {
	if c.ButtonExtension <= 0 {
		c.ButtonExtension = 3 * 24 * time.Hour
		if p.MaxExtension >= 0 {
			c.ButtonExtension = min(c.ButtonExtension, p.MaxExtension)
		}
	}
	if p.MaxExtension >= 0 && c.ButtonExtension > p.MaxExtension {
		return fmt.Errorf("the button extension (%s) is longer than the maximum extension (%s)",
			envs.FormatDuration(c.ButtonExtension), envs.FormatDuration(p.MaxExtension))
	}
	return nil
}

// teamAllowed reports whether a command from this team is served.
func (c *Config) teamAllowed(id, name string) bool {
	if len(c.AllowedTeams) == 0 {
		return true
	}
	return slices.ContainsFunc(c.AllowedTeams, func(t string) bool {
		return t == id || (name != "" && strings.EqualFold(t, name))
	})
}

// emailAllowed reports whether a person with this email may use the bot.
func (c *Config) emailAllowed(email string) bool {
	if len(c.AllowedEmailDomains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := email[at+1:]
	return slices.ContainsFunc(c.AllowedEmailDomains, func(d string) bool {
		return strings.EqualFold(strings.TrimPrefix(d, "@"), domain)
	})
}

// isAdmin reports whether the person may act on anyone's environment.
func (c *Config) isAdmin(p person) bool {
	return slices.ContainsFunc(c.Admins, func(a string) bool {
		return a == p.ID || strings.EqualFold(strings.TrimPrefix(a, "@"), p.Username)
	})
}
