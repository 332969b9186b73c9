package mattermost

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// The buttons an expiry notice carries. Each is a command like any other,
// run for the person the notice went to.
const (
	buttonExtend = "extend"
	buttonKeep   = "keep"
	buttonDelete = "delete"
)

// Context keys of a button. The server sends the context back verbatim on a
// click; the signature proves the bot made it and binds it to one action,
// environment, person and deadline (when, and what happens then).
const (
	ctxAction = "action"
	ctxEnv    = "env"
	ctxUser   = "user"
	ctxExpiry = "expiry"
	ctxAt     = "at" // what happens at the deadline; absent means deletion
	ctxSig    = "sig"
)

// sign returns the HMAC of a button's context under the configured key.
func (b *Bot) sign(action, env, user, expiry, at string) string {
	m := hmac.New(sha256.New, b.cfg.ActionKey)
	// NUL separators: none of the fields can contain one, so no two
	// different contexts sign the same bytes. A deletion deadline signs no
	// "at" field, as buttons did before hibernation notices, so buttons
	// already sent keep working.
	fields := []string{"envwick-action-v1", action, env, user, expiry}
	if at != "" {
		fields = append(fields, at)
	}
	for _, f := range fields {
		m.Write([]byte(f))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// deadlineField is what a button's context says happens at the deadline.
func deadlineField(a reconciler.HousekeepingAction) string {
	if a == reconciler.HousekeepHibernate {
		return string(a)
	}
	return ""
}

// buttons returns the Extend, Keep and Delete now buttons for an expiry
// notice, or none when buttons are not configured. On a hibernation notice
// Extend is the same command: like every command it counts as activity,
// which moves the hibernation a full idle period on.
func (b *Bot) buttons(env, userID string, deadline time.Time, what reconciler.HousekeepingAction) []*model.PostAction {
	if len(b.cfg.ActionKey) == 0 || b.cfg.PublicURL == "" {
		return nil
	}
	expiry, at := strconv.FormatInt(deadline.Unix(), 10), deadlineField(what)
	button := func(action, label, style string) *model.PostAction {
		return &model.PostAction{
			Id: action, Type: model.PostActionTypeButton, Name: label, Style: style,
			Integration: &model.PostActionIntegration{
				URL: b.cfg.PublicURL + ActionsPath,
				Context: map[string]any{
					ctxAction: action, ctxEnv: env, ctxUser: userID, ctxExpiry: expiry, ctxAt: at,
					ctxSig: b.sign(action, env, userID, expiry, at),
				},
			},
		}
	}
	return []*model.PostAction{
		button(buttonExtend, "Extend "+envs.FormatDuration(b.cfg.ButtonExtension), "primary"),
		button(buttonKeep, "Keep", "default"),
		button(buttonDelete, "Delete now", "danger"),
	}
}

// serveAction handles a button click: the signed context must verify and
// the person clicking must be the one the notice was for.
func (b *Bot) serveAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	var req model.PostActionIntegrationRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	str := func(k string) string { s, _ := req.Context[k].(string); return s }
	action, env, user, expiry, at, sig := str(ctxAction), str(ctxEnv), str(ctxUser), str(ctxExpiry), str(ctxAt), str(ctxSig)
	if len(b.cfg.ActionKey) == 0 || sig == "" ||
		!hmac.Equal([]byte(sig), []byte(b.sign(action, env, user, expiry, at))) || req.UserId != user {
		b.log.WarnContext(r.Context(), "button click refused: bad signature or other user", "remote", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	reply := func(text string) { writeJSON(w, &model.PostActionIntegrationResponse{EphemeralText: text}) }
	if !b.now().Before(time.Unix(unix, 0)) {
		reply("This notice has expired; `/cloud info " + env + "` shows where the environment stands.")
		return
	}
	// A button is a command like any other: its text goes through the
	// same parsing and checks as if the person had typed it.
	var text string
	switch action {
	case buttonExtend:
		text = "extend " + env + " " + envs.FormatDuration(b.cfg.ButtonExtension)
	case buttonKeep:
		text = "keep " + env
	case buttonDelete:
		text = "delete " + env
	default:
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	spec, in, err := b.commands.Parse(text)
	if err != nil {
		reply(err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	who, err := b.chat.User(ctx, user)
	if err != nil {
		b.log.ErrorContext(ctx, "looking up the person clicking a button", "error", err)
		reply("Sorry, I could not look you up on Mattermost. Please try again in a moment.")
		return
	}
	if !b.cfg.emailAllowed(who.Email) {
		reply("Sorry, your account may not use /cloud.")
		return
	}
	// The signature de-duplicates: a second click on the same button does
	// nothing more.
	rq := request{Text: text, UserID: user, UserName: who.Username, ChannelID: req.ChannelId,
		ChannelName: req.ChannelName, TeamID: req.TeamId, TeamDomain: req.TeamName, TriggerID: req.TriggerId}
	text, done := b.perform(ctx, spec, in, who, rq, "button:"+sig[:32])
	resp := &model.PostActionIntegrationResponse{EphemeralText: text}
	if done {
		// The notice's buttons have served: replace them with what was
		// done, so nobody clicks a stale one.
		resp.Update = &model.Post{Message: fmt.Sprintf("%s\n\n%s", noticeTitle(env, reconciler.HousekeepingAction(at), time.Unix(unix, 0)), text)}
		resp.Update.AddProp(model.PostPropsAttachments, []*model.MessageAttachment{})
	}
	writeJSON(w, resp)
}

// noticeTitle is the first line of an expiry notice.
func noticeTitle(env string, what reconciler.HousekeepingAction, deadline time.Time) string {
	verb := "deleted"
	if what == reconciler.HousekeepHibernate {
		verb = "hibernated"
	}
	return fmt.Sprintf(":hourglass: **%s** will be %s at %s", env, verb, day(deadline))
}
