package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// maxChannelPages bounds the channel pages read from one installation (a
// test server has a few channels; this keeps a huge one cheap).
const maxChannelPages = 20

// logoutTimeout bounds the logout that ends each asking.
const logoutTimeout = 5 * time.Second

// askMattermost logs in to the installation at url with its admin account
// and reads the time of its last post (the latest last_post_at of its
// channels, which a system admin lists across teams) and its monthly active
// users (the standard analytics).
func askMattermost(ctx context.Context, hc *http.Client, url string, cr Credential) (time.Time, int, error) {
	c := model.NewAPIv4Client(strings.TrimRight(url, "/"))
	if hc != nil {
		c.HTTPClient = hc
	}
	if _, _, err := c.Login(ctx, cr.Username, cr.Password); err != nil {
		return time.Time{}, 0, fmt.Errorf("logging in to %s: %w", url, redact(err))
	}
	defer func() {
		// Log out even when the asking timed out, but briefly: a server
		// that hangs must not hold a sweep slot.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
		defer cancel()
		c.Logout(ctx)
	}()
	var lastMillis int64
	for page := 0; page < maxChannelPages; page++ {
		chans, _, err := c.GetAllChannels(ctx, page, 200, "")
		if err != nil {
			return time.Time{}, 0, fmt.Errorf("listing the channels of %s: %w", url, redact(err))
		}
		for _, ch := range chans {
			lastMillis = max(lastMillis, ch.LastPostAt)
		}
		if len(chans) < 200 {
			break
		}
	}
	rows, _, err := c.GetAnalyticsOld(ctx, "standard", "")
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("reading the analytics of %s: %w", url, redact(err))
	}
	users := 0
	for _, r := range rows {
		if r.Name == "monthly_active_users" {
			users = int(r.Value)
		}
	}
	var last time.Time
	if lastMillis > 0 {
		last = time.UnixMilli(lastMillis).UTC()
	}
	return last, users, nil
}

// redact keeps the status and server message ID of an API error and drops
// the rest (a request body echoed back could hold the password).
func redact(err error) error {
	var ae *model.AppError
	if errors.As(err, &ae) {
		return fmt.Errorf("%d %s: %s", ae.StatusCode, http.StatusText(ae.StatusCode), ae.Id)
	}
	return err
}
