package mattermost

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
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
	// Admins may act on anyone's environment (Mattermost usernames or IDs).
	Admins []string

	// MaxEnvironmentsPerUser bounds the live environments one person owns
	// (default 3; negative for no limit).
	MaxEnvironmentsPerUser int
	// MaxKeptPerUser bounds the environments one person protects from
	// housekeeping (default 1; negative for no limit).
	MaxKeptPerUser int
	// MaxExtension bounds extend: how long one extension may be, and how
	// far from now it may push an environment's end of life (default 7 days).
	MaxExtension time.Duration
	// ButtonExtension is how much the Extend button adds (default 3 days).
	ButtonExtension time.Duration
	// DefaultTTL is the fleet's default time to live, which extend builds on
	// for an environment without its own (zero: the fleet has none).
	DefaultTTL time.Duration
	// ReplyBudget is how long a command may run before the reply says
	// "working on it" and the result follows through the response URL
	// (default 2 s; Mattermost gives up after 3 s).
	ReplyBudget time.Duration
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
	if c.MaxEnvironmentsPerUser == 0 {
		c.MaxEnvironmentsPerUser = 3
	}
	if c.MaxKeptPerUser == 0 {
		c.MaxKeptPerUser = 1
	}
	if c.MaxExtension <= 0 {
		c.MaxExtension = 7 * 24 * time.Hour
	}
	if c.ButtonExtension <= 0 {
		c.ButtonExtension = min(3*24*time.Hour, c.MaxExtension)
	}
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
	if c.ServerURL != "" && c.BotToken == "" {
		errs = append(errs, errors.New("a server URL without a bot token"))
	}
	if c.ButtonExtension > c.MaxExtension {
		errs = append(errs, fmt.Errorf("the button extension (%s) is longer than the maximum extension (%s)", c.ButtonExtension, c.MaxExtension))
	}
	return errors.Join(errs...)
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
