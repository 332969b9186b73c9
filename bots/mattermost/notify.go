package mattermost

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

var _ reconciler.Notifier = (*Bot)(nil)

// Notify sends the owner of the environment a direct message about the
// transition. It returns at once; the message (and, for a ready
// environment, creating accounts on it) happens in the background, see
// Close.
func (b *Bot) Notify(ctx context.Context, t reconciler.Transition) {
	ctx = context.WithoutCancel(ctx)
	b.work.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := b.notifyFleet(ctx, t); err != nil {
			b.log.ErrorContext(ctx, "fleet channel post not sent", "environment", t.Name, "transition", string(t.Kind), "error", err)
		}
		if err := b.notify(ctx, t); err != nil {
			b.log.ErrorContext(ctx, "direct message not sent", "environment", t.Name, "transition", string(t.Kind), "error", err)
		}
	})
}

// rememberOwner notes who owns an environment, for notices that arrive
// without its spec (a deleted environment's file is gone).
func (b *Bot) rememberOwner(name, userID string) {
	if userID == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.owners[name] = userID
}

func (b *Bot) knownOwner(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.owners[name]
}

// recipient finds the Mattermost user to tell: the chat user who asked, the
// Mattermost owner, or the owner remembered from earlier.
func (b *Bot) recipient(ctx context.Context, t reconciler.Transition) (string, error) {
	if c := t.Source().Chat; c != nil && c.UserID != "" {
		if l, ok := b.chat.(interface{ learn(person) }); ok {
			l.learn(person{ID: c.UserID, Username: c.User}) // a console names them
		}
		return c.UserID, nil
	}
	u := t.Owner().Mattermost
	if u == "" && t.Owner().GitHub != "" {
		// A pull request's author: the configured mapping of logins.
		for login, name := range b.cfg.GitHubUsers {
			if strings.EqualFold(login, t.Owner().GitHub) {
				u = name
			}
		}
	}
	if u != "" {
		p, err := b.chat.UserByUsername(ctx, u)
		if err != nil {
			return "", err
		}
		return p.ID, nil
	}
	return b.knownOwner(t.Name), nil
}

func (b *Bot) notify(ctx context.Context, t reconciler.Transition) error {
	to, err := b.recipient(ctx, t)
	if err != nil {
		return err
	}
	if to == "" {
		// No Mattermost owner: another bot tells them, but never the
		// accounts of a pull request's environment, which go to the
		// configured private channel instead.
		if t.Kind == reconciler.TransitionReady && t.Source().PullRequest != nil && b.cfg.CredentialsChannel != "" {
			pr := t.Source().PullRequest
			msg := fmt.Sprintf("For %s#%d (author %s on GitHub):\n%s", pr.Repository, pr.Number, t.Owner().GitHub, b.readyMessage(ctx, t))
			return b.chat.Post(ctx, b.cfg.CredentialsChannel, &model.Post{Message: msg})
		}
		return nil
	}
	b.rememberOwner(t.Name, to)
	post := &model.Post{}
	name := "**" + t.Name + "**"
	switch t.Kind {
	case reconciler.TransitionReady:
		post.Message = b.readyMessage(ctx, t)
	case reconciler.TransitionUpdated:
		post.Message = fmt.Sprintf("The update of %s is done.%s%s", name, link(t.URL()), b.logsSuffix(t))
	case reconciler.TransitionFailed:
		post.Message = fmt.Sprintf(":warning: %s failed: %s. `/cloud retry %s` tries again.%s", name,
			strings.TrimSuffix(firstNonEmpty(t.Message, t.Reason, "no reason given"), "."), t.Name, b.logsSuffix(t))
	case reconciler.TransitionHibernated:
		post.Message = fmt.Sprintf("%s is hibernated. `/cloud wake-up %s` wakes it up.", name, t.Name)
	case reconciler.TransitionWokeUp:
		post.Message = fmt.Sprintf("%s is awake again.%s", name, link(t.URL()))
	case reconciler.TransitionDeleted:
		post.Message = fmt.Sprintf("%s is deleted.", name)
	case reconciler.TransitionExpiring:
		post.Message = fmt.Sprintf("%s (%s).", noticeTitle(t.Name, t.DeadlineAction, t.Deadline), firstNonEmpty(t.Message, t.Reason))
		if actions := b.buttons(t.Name, to, t.Deadline, t.DeadlineAction); actions != nil {
			model.ParseMessageAttachment(post, []*model.MessageAttachment{{
				Text:    "Extend it, keep it, or let it go now:",
				Actions: actions,
			}})
		} else if t.DeadlineAction == reconciler.HousekeepHibernate {
			post.Message += fmt.Sprintf(" Any `/cloud` command about it, such as `/cloud extend %s 3d`, counts as use and keeps it running; `/cloud keep %s` exempts it from housekeeping.", t.Name, t.Name)
		} else {
			post.Message += fmt.Sprintf(" `/cloud extend %s 3d` or `/cloud keep %s` keeps it longer.", t.Name, t.Name)
		}
	default:
		return nil
	}
	return b.chat.DirectMessage(ctx, to, post)
}

func link(url string) string {
	if url == "" {
		return ""
	}
	return " " + url
}

// readyMessage announces a ready environment with its URL and, when the
// installation's API answers, accounts created on it.
func (b *Bot) readyMessage(ctx context.Context, t reconciler.Transition) string {
	var s strings.Builder
	fmt.Fprintf(&s, ":white_check_mark: **%s** is ready", t.Name)
	url := t.URL()
	if url == "" {
		s.WriteString(".")
		return s.String()
	}
	fmt.Fprintf(&s, ": %s\n", url)
	if l := t.LogsLink(b.cfg.LogsURL); l != "" {
		fmt.Fprintf(&s, "Logs: %s\n", l)
	}
	creds, err := b.createCredentials(ctx, url)
	if err != nil {
		b.log.InfoContext(ctx, "accounts not created on the installation", "environment", t.Name, "error", err)
	}
	b.keepAdmin(ctx, t, url, creds)
	if len(creds) == 0 {
		s.WriteString("\nI could not create accounts on it (it may not answer yet, or already have some); on a fresh server the first account you sign up becomes its system admin.")
		return s.String()
	}
	s.WriteString("\nAccounts I created for you (only in this message; change the passwords if you share the server):\n")
	for _, c := range creds {
		role := "user"
		if c.Admin {
			role = "system admin"
		}
		pw := c.Password
		if m, ok := b.chat.(interface{ MaskSecret(string) string }); ok {
			pw = m.MaskSecret(pw) // a console is not a private channel
		}
		fmt.Fprintf(&s, "- %s: `%s` / `%s`\n", role, c.Username, pw)
	}
	return s.String()
}

// ReconcilerStatus adapts the reconciler's recorded status to StatusReader.
type ReconcilerStatus struct {
	R interface {
		StatusOf(string) *reconciler.Status
	}
}

// EnvironmentStatus returns the recorded status of name.
func (s ReconcilerStatus) EnvironmentStatus(name string) (envs.EnvironmentStatus, bool) {
	st := s.R.StatusOf(name)
	if st == nil {
		return envs.EnvironmentStatus{}, false
	}
	return st.Status, true
}
