package mattermost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

// refusal is a reply that says why a command was not carried out. Nothing
// was committed.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{msg: fmt.Sprintf(format, args...)} }

// refusalText says, in /cloud's words, which rule of the committer's policy
// refused the command verb and what to do about it.
func refusalText(e *commit.PolicyError, verb string) string {
	list := strings.Join(e.Environments, ", ")
	switch e.Kind {
	case commit.KindNotOwner:
		return fmt.Sprintf("**%s** belongs to %s; only its owner or an admin may %s it.", e.Name, commit.OwnerName(e.Owner), verb)
	case commit.KindQuota:
		return fmt.Sprintf("You already have %s (%s); the quota is %d per person. Delete one first with `/cloud delete NAME`.",
			countOf(e.Used, "environment"), list, e.Limit)
	case commit.KindUnits:
		return fmt.Sprintf("**%s** would count %d size units and your environments (%s) count %d; the quota is %d units per person. Pick a smaller `--size` or delete one first.",
			e.Name, e.Asked, list, e.Used, e.Limit)
	case commit.KindKept:
		return fmt.Sprintf("You already keep %s (%s), the most one person may (%d). `/cloud unkeep NAME` one first.", countOf(e.Used, "environment"), list, e.Limit)
	case commit.KindDeletionLocked:
		return fmt.Sprintf("You already deletion-lock %s (%s), the most one person may (%d). `/cloud deletion-unlock NAME` one first.", countOf(e.Used, "environment"), list, e.Limit)
	case commit.KindExtension:
		return fmt.Sprintf("You can extend by at most %s at a time.", envs.FormatDuration(e.MaxDuration))
	case commit.KindLifetime:
		if !e.Until.IsZero() {
			return fmt.Sprintf("That would keep **%s** until %s; the limit is %s from now.", e.Name, day(e.Until), envs.FormatDuration(e.MaxDuration))
		}
		return fmt.Sprintf("That would give **%s** a lifetime of %s; the limit is %s.", e.Name, envs.FormatDuration(e.Duration), envs.FormatDuration(e.MaxDuration))
	}
	return "Sorry, that is not allowed: " + e.Error() + "."
}

// execute runs one command and returns the reply text.
func (b *Bot) execute(ctx context.Context, req request) string {
	spec, in, err := b.commands.Parse(req.Text)
	if err != nil {
		return err.Error()
	}
	if spec.Name == helpName {
		// Help is for everyone, before any lookup.
		reply, _ := spec.Run(&action{bot: b, spec: spec, in: in}, ctx)
		return reply
	}
	if !b.cfg.teamAllowed(req.TeamID, req.TeamDomain) {
		return "The /cloud command is not available in this team."
	}
	who, err := b.chat.User(ctx, req.UserID)
	if errors.Is(err, errNoChat) && req.UserName != "" {
		// No server to ask (envwick dev tried with curl): trust the form's
		// username. With a server configured, identity always comes from it.
		who, err = person{ID: req.UserID, Username: req.UserName, Name: req.UserName}, nil
		if l, ok := b.chat.(interface{ learn(person) }); ok {
			l.learn(who) // so its direct messages name them
		}
	}
	if err != nil {
		b.log.ErrorContext(ctx, "looking up the person running /cloud", "user", req.UserName, "error", err)
		return "Sorry, I could not look you up on Mattermost. Please try again in a moment."
	}
	if !b.cfg.emailAllowed(who.Email) {
		b.log.InfoContext(ctx, "/cloud refused: email domain not allowed", "user", who.Username)
		return fmt.Sprintf("Sorry, /cloud is only for people with an email address in %s.", strings.Join(b.cfg.AllowedEmailDomains, ", "))
	}
	text, _ := b.perform(ctx, spec, in, who, req, "")
	return text
}

// perform carries out a parsed command for a person who may use the bot,
// and returns the reply text and whether it was carried out.
func (b *Bot) perform(ctx context.Context, spec *cloudSpec, in *command.Input, who person, req request, delivery string) (string, bool) {
	act := action{bot: b, spec: spec, in: in, name: in.Arg("NAME"), who: who, req: req, now: b.now(), delivery: delivery}
	reply, err := act.do(ctx)
	var ref *refusal
	var inv *commit.InvalidError
	var pol *commit.PolicyError
	switch {
	case err == nil:
	case errors.As(err, &ref):
		b.log.InfoContext(ctx, "/cloud refused", "user", who.Username, "verb", spec.Name, "environment", act.name, "reason", ref.msg)
		return ref.msg, false
	case errors.As(err, &pol):
		b.log.InfoContext(ctx, "/cloud refused by policy", "user", who.Username, "verb", spec.Name, "environment", act.name, "rule", string(pol.Kind))
		return refusalText(pol, spec.Name), false
	case errors.As(err, &inv):
		return fmt.Sprintf("Environment **%s** would not be valid, so nothing was changed:\n%s", act.name, bullets(inv.Problems)), false
	case errors.Is(err, commit.ErrExists):
		return fmt.Sprintf("The name **%s** is already in use. Pick another name.", act.name), false
	case errors.Is(err, commit.ErrNotFound):
		return noSuch(act.name).Error(), false
	default:
		b.log.ErrorContext(ctx, "/cloud failed", "user", who.Username, "verb", spec.Name, "environment", act.name, "error", err)
		return "Sorry, that did not work because of a problem on our side; nothing was changed. Please try again in a moment.", false
	}
	if act.name != "" && b.activity != nil {
		b.activity.RecordActivity(ctx, act.name, act.now, "/cloud "+spec.Name+" by @"+who.Username)
	}
	return reply, true
}

// noSuch refuses a command about an environment that does not exist.
func noSuch(name string) error {
	return refuse("There is no environment named **%s**. `/cloud list` shows yours.", name)
}

func bullets(ps envs.Problems) string {
	var s strings.Builder
	for _, p := range ps {
		s.WriteString("- ")
		if p.Field != "" {
			s.WriteString("`" + p.Field + "`: ")
		}
		s.WriteString(p.Message + "\n")
	}
	return s.String()
}

// action is one command being carried out for one person.
type action struct {
	bot  *Bot
	spec *cloudSpec
	in   *command.Input
	// name is the environment the command is about, if any.
	name string
	// all is every environment at the head when the command started, and
	// env the one named (nil when there is none).
	all []*envs.Environment
	env *envs.Environment
	who person
	req request
	now time.Time
	// delivery de-duplicates: the command's trigger ID, or a button's
	// signed context.
	delivery string
}

func (a *action) meta() commit.Meta {
	return commit.Meta{
		Actor: commit.Person{Name: a.who.Name, Email: a.who.Email},
		Login: a.who.Username,
		Requester: commit.Requester{
			Mattermost: a.who.Username, MattermostID: a.who.ID, Admin: a.bot.cfg.isAdmin(a.who),
		},
		Source:   a.bot.channelSource(a.req),
		Delivery: firstNonEmpty(a.delivery, a.req.TriggerID),
		Command:  "/cloud " + strings.TrimSpace(a.req.Text),
	}
}

// channelSource names the channel a command came from, for the Source
// trailer: a link when the server is known.
func (b *Bot) channelSource(req request) string {
	if b.cfg.ServerURL != "" && req.TeamDomain != "" && req.ChannelName != "" {
		return b.cfg.ServerURL + "/" + req.TeamDomain + "/channels/" + req.ChannelName
	}
	return "mattermost channel " + req.ChannelID
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// do reads the environments, checks the command's permission and runs it.
func (a *action) do(ctx context.Context) (string, error) {
	all, err := a.bot.envs.Environments(ctx)
	if err != nil {
		return "", fmt.Errorf("reading environments: %w", err)
	}
	a.all = all
	if a.name != "" {
		a.env = find(all, a.name)
	}
	if a.spec.Permission == ownerOrAdmin || a.spec.Permission == ownerOrShared {
		if a.env == nil {
			return "", noSuch(a.name)
		}
		// The committer's policy decides inside the commit; asking it here
		// first answers "not yours" before anything else, also for
		// commands that commit nothing (mmctl, or nothing to retry).
		if r := a.meta().Requester; !r.MayChange(a.env) && !(a.spec.Permission == ownerOrShared && commit.SharedForUpdates(a.env)) {
			return "", &commit.PolicyError{Kind: commit.KindNotOwner, Name: a.name, Owner: a.env.Spec.Owner, Environments: []string{a.name}}
		}
		// Whether the person may change it, and how far, is the
		// committer's policy, checked inside the commit.
		a.bot.rememberOwner(a.env.Name, ownerID(a.env))
	}
	return a.spec.Run(a, ctx)
}

func find(all []*envs.Environment, name string) *envs.Environment {
	for _, e := range all {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// owns reports whether p owns e: by user ID when the environment came from
// chat, else by Mattermost username.
func owns(e *envs.Environment, p person) bool {
	if c := e.Spec.Source.Chat; c != nil && c.UserID != "" && c.UserID == p.ID {
		return true
	}
	return e.Spec.Owner.Mattermost != "" && strings.EqualFold(e.Spec.Owner.Mattermost, p.Username)
}

func ownerID(e *envs.Environment) string {
	if c := e.Spec.Source.Chat; c != nil {
		return c.UserID
	}
	return ""
}

func ownerName(e *envs.Environment) string {
	switch o := e.Spec.Owner; {
	case o.Mattermost != "":
		return "@" + o.Mattermost
	case o.GitHub != "":
		return o.GitHub + " on GitHub"
	}
	return "someone else"
}

// ownedBy returns the environments p owns.
func ownedBy(all []*envs.Environment, p person) []*envs.Environment {
	var out []*envs.Environment
	for _, e := range all {
		if owns(e, p) {
			out = append(out, e)
		}
	}
	return out
}

// mutate commits mutations to the environment; the committer's policy
// decides inside the commit whether the person may.
func (a *action) mutate(ctx context.Context, done string, muts ...commit.Mutation) (string, error) {
	res, err := a.bot.commits.Update(ctx, a.meta(), a.name, muts...)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(done, a.name) + committed(res), nil
}

func committed(res commit.Result) string {
	switch {
	case res.Duplicate:
		return " (already done)"
	case !res.Changed:
		return " (nothing to change)"
	}
	return " (commit " + short(res.Commit) + ")"
}

func short(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

func (a *action) status(name string) (envs.EnvironmentStatus, bool) {
	if a.bot.status == nil {
		return envs.EnvironmentStatus{}, false
	}
	return a.bot.status.EnvironmentStatus(name)
}

func day(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }

// stateOf summarises an environment's state for people.
func stateOf(e *envs.Environment, st envs.EnvironmentStatus) string {
	ready := apimeta.FindStatusCondition(st.Conditions, meta.ReadyCondition)
	switch {
	case ready == nil && st.Installation == nil:
		return "requested"
	case ready != nil && ready.Status == metav1.ConditionTrue:
		if e.Spec.State == envs.StateHibernated {
			return "hibernated"
		}
		return "ready"
	case ready != nil && ready.Reason != "":
		return strings.ToLower(ready.Reason)
	case st.Installation != nil && st.Installation.State != "":
		return st.Installation.State
	}
	return "pending"
}
