package mattermost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/mattermost/cloudcmd"
	"github.com/envwick/envwick/envs"
)

// refusal is a reply that says why a command was not carried out. Nothing
// was committed.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{msg: fmt.Sprintf(format, args...)} }

// execute runs one command and returns the reply text.
func (b *Bot) execute(ctx context.Context, req request) string {
	cmd, err := cloudcmd.Parse(req.Text)
	if err != nil {
		return err.Error()
	}
	if cmd.Verb == cloudcmd.Help {
		if cmd.Topic != "" && cmd.Topic != cloudcmd.Help {
			return cloudcmd.Usage(cmd.Topic)
		}
		return cloudcmd.Overview()
	}
	if !b.cfg.teamAllowed(req.TeamID, req.TeamDomain) {
		return "The /cloud command is not available in this team."
	}
	who, err := b.chat.User(ctx, req.UserID)
	if errors.Is(err, errNoChat) && req.UserName != "" {
		// No server to ask (envwick dev tried with curl): trust the form's
		// username. With a server configured, identity always comes from it.
		who, err = person{ID: req.UserID, Username: req.UserName, Name: req.UserName}, nil
	}
	if err != nil {
		b.log.ErrorContext(ctx, "looking up the person running /cloud", "user", req.UserName, "error", err)
		return "Sorry, I could not look you up on Mattermost. Please try again in a moment."
	}
	if !b.cfg.emailAllowed(who.Email) {
		b.log.InfoContext(ctx, "/cloud refused: email domain not allowed", "user", who.Username)
		return fmt.Sprintf("Sorry, /cloud is only for people with an email address in %s.", strings.Join(b.cfg.AllowedEmailDomains, ", "))
	}
	text, _ := b.perform(ctx, cmd, who, req, "")
	return text
}

// perform carries out a parsed command for a person who may use the bot,
// and returns the reply text and whether it was carried out.
func (b *Bot) perform(ctx context.Context, cmd *cloudcmd.Command, who person, req request, delivery string) (string, bool) {
	act := action{bot: b, cmd: cmd, who: who, req: req, now: b.now(), delivery: delivery}
	reply, err := act.do(ctx)
	var ref *refusal
	var inv *commit.InvalidError
	switch {
	case err == nil:
	case errors.As(err, &ref):
		b.log.InfoContext(ctx, "/cloud refused", "user", who.Username, "verb", cmd.Verb, "environment", cmd.Name, "reason", ref.msg)
		return ref.msg, false
	case errors.As(err, &inv):
		return fmt.Sprintf("Environment **%s** would not be valid, so nothing was changed:\n%s", cmd.Name, bullets(inv.Problems)), false
	case errors.Is(err, commit.ErrExists):
		return fmt.Sprintf("The name **%s** is already in use. Pick another name.", cmd.Name), false
	case errors.Is(err, commit.ErrNotFound):
		return fmt.Sprintf("There is no environment named **%s**. `/cloud list` shows yours.", cmd.Name), false
	default:
		b.log.ErrorContext(ctx, "/cloud failed", "user", who.Username, "verb", cmd.Verb, "environment", cmd.Name, "error", err)
		return "Sorry, that did not work because of a problem on our side; nothing was changed. Please try again in a moment.", false
	}
	if cmd.Name != "" && b.activity != nil {
		b.activity.RecordActivity(ctx, cmd.Name, act.now, "/cloud "+string(cmd.Verb)+" by @"+who.Username)
	}
	return reply, true
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
	bot *Bot
	cmd *cloudcmd.Command
	who person
	req request
	now time.Time
	// delivery de-duplicates: the command's trigger ID, or a button's
	// signed context.
	delivery string
}

func (a *action) meta() commit.Meta {
	return commit.Meta{
		Actor:    commit.Person{Name: a.who.Name, Email: a.who.Email},
		Login:    a.who.Username,
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

func (a *action) do(ctx context.Context) (string, error) {
	all, err := a.bot.envs.Environments(ctx)
	if err != nil {
		return "", fmt.Errorf("reading environments: %w", err)
	}
	switch a.cmd.Verb {
	case cloudcmd.Create:
		return a.create(ctx, all)
	case cloudcmd.List:
		return a.list(all), nil
	}
	e := find(all, a.cmd.Name)
	if e == nil {
		return "", refuse("There is no environment named **%s**. `/cloud list` shows yours.", a.cmd.Name)
	}
	if a.cmd.Verb == cloudcmd.Info {
		return a.info(e), nil
	}
	if !owns(e, a.who) && !a.bot.cfg.isAdmin(a.who) {
		return "", refuse("**%s** belongs to %s; only its owner or an admin may %s it.", e.Name, ownerName(e), a.cmd.Verb)
	}
	a.bot.rememberOwner(e.Name, ownerID(e))
	switch a.cmd.Verb {
	case cloudcmd.Update:
		return a.update(ctx)
	case cloudcmd.Hibernate:
		return a.mutate(ctx, "Hibernating **%s**. You will get a message when it is hibernated.", commit.SetState(envs.StateHibernated))
	case cloudcmd.WakeUp:
		return a.mutate(ctx, "Waking **%s** up. You will get a message when it is running.", commit.SetState(envs.StateRunning))
	case cloudcmd.Delete:
		return a.delete(ctx)
	case cloudcmd.Extend:
		return a.extend(ctx, e, a.cmd.Duration)
	case cloudcmd.Keep:
		return a.keep(ctx, all, e)
	case cloudcmd.Unkeep:
		return a.mutate(ctx, "**%s** is no longer protected from housekeeping.", commit.Keep(false))
	}
	return "", fmt.Errorf("subcommand %s not handled", a.cmd.Verb)
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

// mutate commits mutations to the environment, checking again inside the
// commit that the person may change it (the file may have changed since it
// was read).
func (a *action) mutate(ctx context.Context, done string, muts ...commit.Mutation) (string, error) {
	guard := func(e *envs.Environment) error {
		if !owns(e, a.who) && !a.bot.cfg.isAdmin(a.who) {
			return refuse("**%s** belongs to %s; only its owner or an admin may %s it.", e.Name, ownerName(e), a.cmd.Verb)
		}
		return nil
	}
	res, err := a.bot.commits.Update(ctx, a.meta(), a.cmd.Name, append([]commit.Mutation{guard}, muts...)...)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(done, a.cmd.Name) + committed(res), nil
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

func (a *action) create(ctx context.Context, all []*envs.Environment) (string, error) {
	if e := find(all, a.cmd.Name); e != nil {
		return "", refuse("The name **%s** is already in use (owner %s). Pick another name.", a.cmd.Name, ownerName(e))
	}
	if max := a.bot.cfg.MaxEnvironmentsPerUser; max >= 0 {
		if mine := ownedBy(all, a.who); len(mine) >= max && !a.bot.cfg.isAdmin(a.who) {
			return "", refuse("You already have %d environments (%s), the most one person may have. Delete one first with `/cloud delete NAME`.",
				len(mine), names(mine))
		}
	}
	e := &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: a.cmd.Name},
		Spec: envs.EnvironmentSpec{
			Owner: envs.Owner{Mattermost: a.who.Username, Email: a.who.Email},
			Source: envs.Source{Chat: &envs.ChatSource{
				User: a.who.Username, UserID: a.who.ID, Channel: a.req.ChannelID, Team: a.req.TeamID,
			}},
			Installation: a.cmd.Installation,
		},
	}
	if ps := envs.Validate(e); len(ps) > 0 {
		return "", &commit.InvalidError{Name: e.Name, Problems: ps}
	}
	res, err := a.bot.commits.Create(ctx, a.meta(), e)
	if err != nil {
		return "", err
	}
	a.bot.rememberOwner(e.Name, a.who.ID)
	return fmt.Sprintf("Creating **%s**%s. You will get a direct message when it is ready; `/cloud info %s` shows its progress.",
		e.Name, committed(res), e.Name), nil
}

func names(es []*envs.Environment) string {
	n := make([]string, len(es))
	for i, e := range es {
		n[i] = e.Name
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func (a *action) update(ctx context.Context) (string, error) {
	c := a.cmd
	set := func(e *envs.Environment) error {
		in := &e.Spec.Installation
		for _, f := range c.Set {
			switch f {
			case "version":
				in.Version = c.Installation.Version
			case "image":
				in.Image = c.Installation.Image
			case "license":
				in.License = c.Installation.License
			case "size":
				in.Size = c.Installation.Size
			}
		}
		return nil
	}
	muts := []commit.Mutation{set}
	if len(c.Installation.Env) > 0 {
		muts = append(muts, commit.SetEnv(c.Installation.Env))
	}
	if len(c.ClearEnv) > 0 {
		clear := map[string]string{}
		for _, k := range c.ClearEnv {
			clear[k] = ""
		}
		muts = append(muts, commit.SetEnv(clear))
	}
	return a.mutate(ctx, "Updating **%s**. You will get a message when the update is done.", muts...)
}

func (a *action) delete(ctx context.Context) (string, error) {
	res, err := a.bot.commits.Delete(ctx, a.meta(), a.cmd.Name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Deleting **%s**%s. You will get a message when it is gone.", a.cmd.Name, committed(res)), nil
}

// extend pushes the environment's end of life back by d, within policy:
// one extension is at most MaxExtension, and the end of life may not move
// further than MaxExtension from now. Using an environment postpones idle
// hibernation and deletion anyway (the command is recorded as activity);
// the commit moves an explicit expiry or time to live.
func (a *action) extend(ctx context.Context, e *envs.Environment, d time.Duration) (string, error) {
	max := a.bot.cfg.MaxExtension
	if d > max {
		return "", refuse("You can extend by at most %s at a time.", envs.FormatDuration(max))
	}
	// The current end of life: the recorded deadline, or the explicit
	// expiry when no status is known yet, whichever is later.
	from := a.now
	if st, ok := a.status(e.Name); ok && st.DeleteAt != nil && st.DeleteAt.After(from) {
		from = st.DeleteAt.Time
	}
	if x := e.Spec.Lifecycle.ExpiresAt; x != nil && x.After(from) {
		from = x.Time
	}
	end := from.Add(d)
	if limit := a.now.Add(max); end.After(limit) {
		return "", refuse("That would keep **%s** until %s; the limit is %s from now (%s).",
			e.Name, day(end), envs.FormatDuration(max), day(limit))
	}
	lc := e.Spec.Lifecycle
	if lc.ExpiresAt == nil && lc.TTL == nil && a.bot.cfg.DefaultTTL == 0 {
		// No fixed end of life: only inactivity ends it, and this command
		// is activity.
		return fmt.Sprintf("**%s** has no fixed end of life; housekeeping counts from its last use, which is now.", e.Name), nil
	}
	return a.mutate(ctx, "Extended **%s** by "+envs.FormatDuration(d)+".", commit.Extend(d, a.now, a.bot.cfg.DefaultTTL))
}

func (a *action) keep(ctx context.Context, all []*envs.Environment, e *envs.Environment) (string, error) {
	if max := a.bot.cfg.MaxKeptPerUser; max >= 0 && !e.Spec.Lifecycle.Keep && !a.bot.cfg.isAdmin(a.who) {
		var kept []*envs.Environment
		for _, o := range ownedBy(all, a.who) {
			if o.Spec.Lifecycle.Keep {
				kept = append(kept, o)
			}
		}
		if len(kept) >= max {
			return "", refuse("You already keep %d environments (%s), the most one person may. `/cloud unkeep NAME` one first.", len(kept), names(kept))
		}
	}
	return a.mutate(ctx, "**%s** is now protected from housekeeping (idle hibernation and deletion).", commit.Keep(true))
}

func (a *action) status(name string) (envs.EnvironmentStatus, bool) {
	if a.bot.status == nil {
		return envs.EnvironmentStatus{}, false
	}
	return a.bot.status.EnvironmentStatus(name)
}

func day(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }

func (a *action) list(all []*envs.Environment) string {
	shown := all
	title := "Your environments"
	if !a.cmd.All {
		shown = ownedBy(all, a.who)
	} else {
		title = "All environments"
	}
	if len(shown) == 0 {
		if a.cmd.All {
			return "There are no environments."
		}
		return "You have no environments. Create one with `/cloud create NAME`."
	}
	shown = slices.Clone(shown)
	slices.SortFunc(shown, func(x, y *envs.Environment) int { return strings.Compare(x.Name, y.Name) })
	var s strings.Builder
	fmt.Fprintf(&s, "%s:\n\n| Name | State | URL | Owner | Version |\n| --- | --- | --- | --- | --- |\n", title)
	for _, e := range shown {
		st, _ := a.status(e.Name)
		url := ""
		if st.Installation != nil {
			url = st.Installation.URL
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", e.Name, stateOf(e, st), url, ownerName(e), e.Spec.Installation.Version)
	}
	return s.String()
}

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

func (a *action) info(e *envs.Environment) string {
	st, _ := a.status(e.Name)
	in := e.Spec.Installation
	var s strings.Builder
	fmt.Fprintf(&s, "**%s** (owner %s): %s\n", e.Name, ownerName(e), stateOf(e, st))
	if st.Installation != nil && st.Installation.URL != "" {
		fmt.Fprintf(&s, "- URL: %s\n", st.Installation.URL)
	}
	for _, kv := range [][2]string{
		{"Version", in.Version}, {"Image", in.Image}, {"Size", in.Size}, {"License", in.License},
		{"Affinity", in.Affinity}, {"Database", in.Database}, {"Filestore", in.Filestore},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&s, "- %s: %s\n", kv[0], kv[1])
		}
	}
	if in.TestData {
		s.WriteString("- Test data: yes\n")
	}
	if len(in.Env) > 0 {
		keys := make([]string, 0, len(in.Env))
		for k := range in.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&s, "- Environment variables: %s\n", strings.Join(keys, ", "))
	}
	if e.Spec.Lifecycle.Keep {
		s.WriteString("- Kept: protected from housekeeping\n")
	}
	if st.HibernateAt != nil {
		fmt.Fprintf(&s, "- Hibernates after inactivity at: %s\n", day(st.HibernateAt.Time))
	}
	if st.DeleteAt != nil {
		fmt.Fprintf(&s, "- Deleted at: %s\n", day(st.DeleteAt.Time))
	}
	if st.LastError != "" {
		fmt.Fprintf(&s, "- Last error: %s\n", st.LastError)
	}
	return s.String()
}
