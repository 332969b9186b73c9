package mattermost

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
)

// ConsoleChat is the Chat of a bot with no Mattermost server (envwick
// dev): direct messages are printed to a console, tagged by who they
// would go to ("[mattermost @alice DM]"), instead of failing. People are
// known by the username their commands carried; generated passwords are
// shown masked, as a console is no private channel.
type ConsoleChat struct {
	out io.Writer

	mu    sync.Mutex
	names map[string]string // user ID -> username
}

// NewConsoleChat returns a ConsoleChat printing to out.
func NewConsoleChat(out io.Writer) *ConsoleChat {
	return &ConsoleChat{out: out, names: map[string]string{}}
}

// User knows the people who ran a command; the bot then trusts the form's
// username for anyone else, as with no server at all.
func (c *ConsoleChat) User(_ context.Context, id string) (person, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.names[id]; ok {
		return person{ID: id, Username: name, Name: name}, nil
	}
	return person{}, errNoChat
}

// UserByUsername answers anyone: the user ID of someone who ran a command,
// else the username itself.
func (c *ConsoleChat) UserByUsername(_ context.Context, username string) (person, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, name := range c.names {
		if strings.EqualFold(name, username) {
			return person{ID: id, Username: name, Name: name}, nil
		}
	}
	return person{ID: username, Username: username, Name: username}, nil
}

// DirectMessage prints the message with its recipient.
func (c *ConsoleChat) DirectMessage(_ context.Context, userID string, post *model.Post) error {
	c.mu.Lock()
	name, ok := c.names[userID]
	c.mu.Unlock()
	if !ok {
		name = userID
	}
	text := strings.TrimSpace(post.Message)
	for _, a := range post.Attachments() {
		text += "\n" + a.Text
		for _, act := range a.Actions {
			text += " [" + act.Name + "]"
		}
	}
	c.print("@"+name+" DM", text)
	return nil
}

// Post prints a channel post (the fleet channel) with its channel.
func (c *ConsoleChat) Post(_ context.Context, channelID string, post *model.Post) error {
	c.print("~"+channelID, strings.TrimSpace(post.Message))
	return nil
}

func (c *ConsoleChat) print(to, text string) {
	fmt.Fprintf(c.out, "[mattermost %s] %s\n", to, strings.ReplaceAll(text, "\n", "\n    "))
}

// learn notes the username a command's form gave for a user ID.
func (c *ConsoleChat) learn(p person) {
	if p.ID == "" || p.Username == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names[p.ID] = p.Username
}

// MaskSecret shows a generated password as its length only.
func (c *ConsoleChat) MaskSecret(s string) string {
	return fmt.Sprintf("<%d characters, not shown on a console>", len(s))
}
