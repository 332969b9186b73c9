package githubbot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/reconciler"
)

// phase is where a pull-request environment stands, as told on the pull
// request.
type phase int

const (
	phaseCreating phase = iota
	phaseUpdating
	phaseDestroying
	phaseReady
	phaseUpdated
	phaseFailed
	phaseDestroyed
	phaseHibernated
	phaseWokeUp
	phaseExpiring
	// phaseWaitingForImage: the create or update waits for the pull
	// request's image to be pushed.
	phaseWaitingForImage
)

// Marker returns the hidden marker that identifies the bot's comment about
// an environment, so that it is found and edited in place, also after a
// restart.
func Marker(name string) string { return "<!-- envwick:env=" + name + " -->" }

// update is one piece of feedback for one environment.
type update struct {
	ref    prRef
	phase  phase
	commit string // envs repository commit
	url    string
	// logs is the installation's logs link, when a template is configured.
	logs     string
	reason   string
	deadline time.Time
	// atDeadline is what happens at deadline (expiring only).
	atDeadline reconciler.HousekeepingAction
	// fn, when set, is posted instead (feedback that is not about a pull
	// request environment, such as an envs repository commit status).
	fn func(context.Context) error
}

// feedback posts the environment comment and commit status. Updates for
// one environment are posted in order (one lane per environment); lanes run
// in parallel.
type feedback struct {
	b *Bot

	lanes *lanes[update]

	mu       sync.Mutex
	comments map[string]int64  // "owner/repo#n<marker>" -> comment ID
	statuses map[string]string // repo@sha/context -> state|description|target last posted
	// envsCommits aggregates the envs repository commits' outcomes for
	// their commit status: commit -> environments failed / reconciled.
	envsCommits map[string]map[string]bool // commit -> environment -> failed
}

const feedbackLanes = 8

func newFeedback(b *Bot) *feedback {
	return &feedback{b: b, lanes: newLanes[update](feedbackLanes), comments: map[string]int64{},
		statuses: map[string]string{}, envsCommits: map[string]map[string]bool{}}
}

// progress queues an update; it never blocks on GitHub.
func (f *feedback) progress(ref prRef, p phase, commit string) {
	f.enqueue(update{ref: ref, phase: p, commit: commit})
}

func (f *feedback) enqueue(u update) { f.lanes.push(u.ref.Name, u) }

func (f *feedback) run(ctx context.Context) {
	f.lanes.run(ctx, func(ctx context.Context, u update) bool {
		if err := f.post(ctx, u); err != nil {
			f.b.log.WarnContext(ctx, "posting feedback", "environment", u.ref.Name, "error", err)
		}
		return true
	})
}

func (f *feedback) wait(ctx context.Context) error { return f.lanes.wait(ctx) }

// post writes one update: the comment, then the status.
func (f *feedback) post(ctx context.Context, u update) error {
	if u.fn != nil {
		return u.fn(ctx)
	}
	if err := f.setComment(ctx, u.ref, f.render(u)); err != nil {
		return err
	}
	state, desc, target := f.status(u)
	if state == "" || u.ref.HeadSHA == "" {
		return nil
	}
	return f.setStatus(ctx, u.ref.Repo, u.ref.HeadSHA, f.b.cfg.StatusContext, state, desc, target)
}

// status is the commit status for an update; "" posts none.
func (f *feedback) status(u update) (state, desc, target string) {
	sha := shortSHA(u.ref.HeadSHA)
	switch u.phase {
	case phaseCreating:
		return "pending", "Creating test server for " + sha, ""
	case phaseUpdating:
		return "pending", "Updating test server to " + sha, ""
	case phaseReady, phaseUpdated, phaseWokeUp:
		return "success", "Test server ready at " + sha, u.url
	case phaseWaitingForImage:
		return "pending", "Waiting for the image of " + sha, ""
	case phaseFailed:
		return "failure", "Test server failed: " + oneLine(u.reason), ""
	case phaseDestroyed:
		// Statuses cannot be removed; replace the ready one, whose link
		// now leads nowhere.
		return "success", "Test server destroyed", ""
	}
	return "", "", ""
}

func (f *feedback) render(u update) string {
	var b strings.Builder
	b.WriteString(Marker(u.ref.Name) + "\n")
	fmt.Fprintf(&b, "**Test server `%s`**", u.ref.Name)
	sha := shortSHA(u.ref.HeadSHA)
	help := "\n\nComment `/env help` for what you can do with it."
	switch u.phase {
	case phaseCreating:
		fmt.Fprintf(&b, " is being created for %s. This comment will say when it is ready.", sha)
	case phaseUpdating:
		fmt.Fprintf(&b, " is being updated to %s.", sha)
	case phaseDestroying:
		b.WriteString(" is being destroyed.")
		help = ""
	case phaseReady:
		fmt.Fprintf(&b, " is ready at %s, running %s.%s\n\n%s", u.url, sha, logsLine(u.logs), f.b.cfg.CredentialsHelp)
	case phaseUpdated:
		fmt.Fprintf(&b, " is updated to %s and ready at %s.%s\n\n%s", sha, u.url, logsLine(u.logs), f.b.cfg.CredentialsHelp)
	case phaseFailed:
		fmt.Fprintf(&b, " failed: %s%s\n\nTo retry, comment `/env retry`, push a commit, or remove the label and add it again (a new server).", oneLine(u.reason), logsLine(u.logs))
	case phaseDestroyed:
		b.WriteString(" is destroyed.")
		help = "\n\nAdd a test server label or comment `/env create` for a new one."
	case phaseWaitingForImage:
		fmt.Fprintf(&b, " is waiting for its image (%s). It is created or updated as soon as the image is pushed.", oneLine(u.reason))
	case phaseHibernated:
		b.WriteString(" is hibernated. Comment `/env update` or push a commit to wake it.")
	case phaseWokeUp:
		fmt.Fprintf(&b, " is awake again at %s.", u.url)
	case phaseExpiring:
		at := u.deadline.UTC().Format(time.RFC1123)
		if u.atDeadline == reconciler.HousekeepHibernate {
			// Every /env command is activity, so any of them postpones it.
			fmt.Fprintf(&b, " will be hibernated at %s for lack of activity. Push a commit or comment `/env extend 3d` to keep it running.", at)
		} else {
			fmt.Fprintf(&b, " will be deleted at %s. Comment `/env extend 3d` to keep it longer.", at)
		}
	}
	if u.commit != "" {
		fmt.Fprintf(&b, "\n\n<sub>envs repository commit %s</sub>", shortSHA(u.commit))
	}
	b.WriteString(help)
	return b.String()
}

// setComment edits the environment's comment in place, creating it the
// first time.
func (f *feedback) setComment(ctx context.Context, ref prRef, body string) error {
	return f.setMarkedComment(ctx, ref.Repo, ref.Number, Marker(ref.Name), body)
}

// setMarkedComment edits the bot's comment that starts with marker,
// creating it the first time. The comment ID is cached; after a restart the
// marker finds it.
func (f *feedback) setMarkedComment(ctx context.Context, repoName string, number int, marker, body string) error {
	cl, err := f.b.gh.For(ctx, repoName)
	if err != nil {
		return err
	}
	owner, repo, _ := strings.Cut(repoName, "/")
	key := fmt.Sprintf("%s#%d%s", repoName, number, marker)
	f.mu.Lock()
	id := f.comments[key]
	f.mu.Unlock()
	if id == 0 {
		if id, err = f.findComment(ctx, cl, owner, repo, number, marker); err != nil {
			return err
		}
	}
	if id != 0 {
		_, resp, err := cl.Issues.EditComment(ctx, owner, repo, id, &gh.IssueComment{Body: gh.String(body)})
		if err == nil {
			f.mu.Lock()
			f.comments[key] = id
			f.mu.Unlock()
			return nil
		}
		if resp == nil || resp.StatusCode != 404 {
			return fmt.Errorf("editing comment on %s#%d: %w", repoName, number, err)
		}
		// Someone deleted the comment: write a new one.
	}
	c, _, err := cl.Issues.CreateComment(ctx, owner, repo, number, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return fmt.Errorf("commenting on %s#%d: %w", repoName, number, err)
	}
	f.mu.Lock()
	f.comments[key] = c.GetID()
	f.mu.Unlock()
	return nil
}

func (f *feedback) findComment(ctx context.Context, cl *gh.Client, owner, repo string, number int, marker string) (int64, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := cl.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return 0, fmt.Errorf("listing comments on %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, c := range cs {
			if strings.HasPrefix(c.GetBody(), marker) {
				return c.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}

// setStatus posts a commit status unless the same one is the latest
// already (remembered, or read back from GitHub after a restart), as Flux's
// notification-controller does: re-posting an unchanged status only adds
// noise and uses rate limit.
func (f *feedback) setStatus(ctx context.Context, repoName, sha, statusContext, state, desc, target string) error {
	if len(desc) > 140 {
		// Cut on a character boundary, so the description stays valid UTF-8.
		desc = strings.ToValidUTF8(desc[:137], "") + "..."
	}
	key := repoName + "@" + sha + "/" + statusContext
	want := state + "|" + desc + "|" + target
	f.mu.Lock()
	last, known := f.statuses[key]
	f.mu.Unlock()
	if known && last == want {
		return nil
	}
	cl, err := f.b.gh.For(ctx, repoName)
	if err != nil {
		return err
	}
	owner, repo, _ := strings.Cut(repoName, "/")
	if !known {
		sts, _, err := cl.Repositories.ListStatuses(ctx, owner, repo, sha, &gh.ListOptions{PerPage: 100})
		if err != nil {
			return fmt.Errorf("reading statuses of %s@%s: %w", repoName, shortSHA(sha), err)
		}
		for _, s := range sts { // newest first
			if s.GetContext() == statusContext {
				if s.GetState()+"|"+s.GetDescription()+"|"+s.GetTargetURL() == want {
					f.mu.Lock()
					f.statuses[key] = want
					f.mu.Unlock()
					return nil
				}
				break
			}
		}
	}
	st := &gh.RepoStatus{State: gh.String(state), Description: gh.String(desc), Context: gh.String(statusContext)}
	if target != "" {
		st.TargetURL = gh.String(target)
	}
	if _, _, err := cl.Repositories.CreateStatus(ctx, owner, repo, sha, st); err != nil {
		return fmt.Errorf("setting status on %s@%s: %w", repoName, shortSHA(sha), err)
	}
	f.mu.Lock()
	f.statuses[key] = want
	f.mu.Unlock()
	return nil
}

// reply posts a new comment answering someone (a command's result or what
// was wrong with it).
func (f *feedback) reply(ctx context.Context, ref prRef, body string) error {
	cl, err := f.b.gh.For(ctx, ref.Repo)
	if err != nil {
		return err
	}
	owner, repo, _ := strings.Cut(ref.Repo, "/")
	if _, _, err := cl.Issues.CreateComment(ctx, owner, repo, ref.Number, &gh.IssueComment{Body: gh.String(body)}); err != nil {
		return fmt.Errorf("replying on %s#%d: %w", ref.Repo, ref.Number, err)
	}
	return nil
}

// transitionPhase is what each transition reads as on the pull request.
var transitionPhase = map[reconciler.TransitionKind]phase{
	reconciler.TransitionReady:      phaseReady,
	reconciler.TransitionUpdated:    phaseUpdated,
	reconciler.TransitionFailed:     phaseFailed,
	reconciler.TransitionDeleted:    phaseDestroyed,
	reconciler.TransitionHibernated: phaseHibernated,
	reconciler.TransitionWokeUp:     phaseWokeUp,
	reconciler.TransitionExpiring:   phaseExpiring,

	reconciler.TransitionWaitingForImage: phaseWaitingForImage,
}

// Notify implements reconciler.Notifier: it turns a transition of a
// pull-request environment into its comment and commit status, and the
// envs repository commit's status. It never blocks on GitHub.
func (b *Bot) Notify(ctx context.Context, t reconciler.Transition) {
	p, ok := transitionPhase[t.Kind]
	if !ok {
		return
	}
	b.fb.envsCommit(t)
	ref, known := b.prs.get(t.Name)
	if src := t.Source().PullRequest; src != nil && strings.HasPrefix(src.Label, E2ELabelPrefix) {
		return
	} else if src != nil {
		ref, known = prRef{Name: t.Name, Repo: src.Repository, Number: src.Number, HeadSHA: src.HeadSHA}, true
		if err := b.prs.put(ref); err != nil {
			b.log.Warn("pull request index not saved", "environment", t.Name, "error", err)
		}
	}
	if !known || !b.cfg.serves(ref.Repo) {
		return
	}
	reason := t.Message
	if reason == "" {
		reason = t.Reason
	}
	b.fb.enqueue(update{ref: ref, phase: p, commit: t.Commit, url: t.URL(), logs: t.LogsLink(b.cfg.LogsURL), reason: reason, deadline: t.Deadline, atDeadline: t.DeadlineAction})
}

// envsCommit records a transition's outcome for the envs repository commit
// it was observed at, and queues that commit's status.
func (f *feedback) envsCommit(t reconciler.Transition) {
	repo := f.b.cfg.EnvsRepository
	if repo == "" || t.Commit == "" || t.Kind == reconciler.TransitionExpiring {
		// An expiry notice is about time passing, not about the commit.
		return
	}
	f.mu.Lock()
	o := f.envsCommits[t.Commit]
	if o == nil {
		if len(f.envsCommits) >= 1000 {
			// Old commits are long reconciled; forget them.
			clear(f.envsCommits)
		}
		o = map[string]bool{}
		f.envsCommits[t.Commit] = o
	}
	o[t.Name] = t.Kind == reconciler.TransitionFailed
	failed := 0
	for _, bad := range o {
		if bad {
			failed++
		}
	}
	state, desc := "success", fmt.Sprintf("Reconciled: %d environment(s) changed", len(o))
	if failed > 0 {
		state, desc = "failure", fmt.Sprintf("Reconciled: %d environment(s) changed, %d failed", len(o), failed)
	}
	f.mu.Unlock()
	f.enqueue(update{ref: prRef{Name: t.Commit}, fn: func(ctx context.Context) error {
		return f.setStatus(ctx, repo, t.Commit, "envwick/reconcile", state, desc, "")
	}})
}

// logsLine is the logs link on its own line, or "".
func logsLine(logs string) string {
	if logs == "" {
		return ""
	}
	return "\nLogs: " + logs
}
