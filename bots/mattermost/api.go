package mattermost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
)

// person is someone who ran a command or pressed a button.
type person struct {
	ID       string
	Username string
	Name     string // full name, or the username when none is set
	Email    string
}

// Chat is what the bot needs from the Mattermost server: who people are,
// and a way to send them direct messages.
type Chat interface {
	// User returns the person with this user ID.
	User(ctx context.Context, id string) (person, error)
	// UserByUsername returns the person with this username.
	UserByUsername(ctx context.Context, username string) (person, error)
	// DirectMessage posts to the direct channel between the bot and userID.
	DirectMessage(ctx context.Context, userID string, post *model.Post) error
	// Post posts to a channel the bot is a member of.
	Post(ctx context.Context, channelID string, post *model.Post) error
}

// client4Chat is Chat over the server's REST API with the bot's token.
type client4Chat struct {
	client *model.Client4

	mu    sync.Mutex
	botID string
}

// NewChat returns a Chat that calls serverURL with a bot access token.
func NewChat(serverURL, botToken string, hc *http.Client) Chat {
	c := model.NewAPIv4Client(serverURL)
	c.SetToken(botToken)
	if hc != nil {
		c.HTTPClient = hc
	}
	return &client4Chat{client: c}
}

func (c *client4Chat) User(ctx context.Context, id string) (person, error) {
	u, _, err := c.client.GetUser(ctx, id, "")
	if err != nil {
		return person{}, fmt.Errorf("looking up Mattermost user %s: %w", id, err)
	}
	return toPerson(u), nil
}

func (c *client4Chat) UserByUsername(ctx context.Context, username string) (person, error) {
	u, _, err := c.client.GetUserByUsername(ctx, username, "")
	if err != nil {
		return person{}, fmt.Errorf("looking up Mattermost user @%s: %w", username, err)
	}
	return toPerson(u), nil
}

func toPerson(u *model.User) person {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		name = u.Username
	}
	return person{ID: u.Id, Username: u.Username, Name: name, Email: u.Email}
}

// self returns the bot's own user ID, looked up once.
func (c *client4Chat) self(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.botID != "" {
		return c.botID, nil
	}
	me, _, err := c.client.GetMe(ctx, "")
	if err != nil {
		return "", fmt.Errorf("looking up the bot account: %w", err)
	}
	c.botID = me.Id
	return c.botID, nil
}

func (c *client4Chat) DirectMessage(ctx context.Context, userID string, post *model.Post) error {
	botID, err := c.self(ctx)
	if err != nil {
		return err
	}
	ch, _, err := c.client.CreateDirectChannel(ctx, botID, userID)
	if err != nil {
		return fmt.Errorf("opening a direct channel with %s: %w", userID, err)
	}
	p := post.Clone()
	p.ChannelId = ch.Id
	if _, _, err := c.client.CreatePost(ctx, p); err != nil {
		return fmt.Errorf("posting a direct message to %s: %w", userID, err)
	}
	return nil
}

func (c *client4Chat) Post(ctx context.Context, channelID string, post *model.Post) error {
	p := post.Clone()
	p.ChannelId = channelID
	if _, _, err := c.client.CreatePost(ctx, p); err != nil {
		return fmt.Errorf("posting to channel %s: %w", channelID, err)
	}
	return nil
}

// errNoChat is returned when the bot has no server to talk to.
var errNoChat = errors.New("no Mattermost server configured (server URL and bot token)")

type noChat struct{}

func (noChat) User(context.Context, string) (person, error)           { return person{}, errNoChat }
func (noChat) UserByUsername(context.Context, string) (person, error) { return person{}, errNoChat }
func (noChat) DirectMessage(context.Context, string, *model.Post) error {
	return errNoChat
}
func (noChat) Post(context.Context, string, *model.Post) error { return errNoChat }
