package githubbot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	gh "github.com/google/go-github/v57/github"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

func (b *Bot) registerHandlers() {
	b.Handle("pull_request", "environments for labeled pull requests", b.onPullRequest)
	b.Handle("pull_request", "validate and plan on envs repository pull requests", b.onEnvsPullRequest)
	b.Handle("issue_comment", "/env commands", b.onIssueComment)
}

// templateLabel returns the first template label on the pull request, in
// the order GitHub lists them.
func (b *Bot) templateLabel(labels []*gh.Label) (string, bool) {
	for _, l := range labels {
		if _, ok := b.cfg.Templates[l.GetName()]; ok {
			return l.GetName(), true
		}
	}
	return "", false
}

func isFork(pr *gh.PullRequest) bool {
	head, base := pr.GetHead().GetRepo().GetFullName(), pr.GetBase().GetRepo().GetFullName()
	return head != "" && base != "" && !strings.EqualFold(head, base)
}

// environmentFor builds the environment a template label asks for on pr.
func (b *Bot) environmentFor(repo string, pr *gh.PullRequest, label string, tpl Template) *envs.Environment {
	sha := pr.GetHead().GetSHA()
	return &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: EnvironmentName(repo, pr.GetNumber())},
		Spec: envs.EnvironmentSpec{
			Owner: envs.Owner{GitHub: pr.GetUser().GetLogin()},
			Source: envs.Source{PullRequest: &envs.PullRequestSource{
				Repository: repo, Number: pr.GetNumber(), HeadSHA: sha, Label: label,
			}},
			Installation: envs.Installation{
				Image:   b.cfg.image(repo),
				Version: b.cfg.version(sha),
				Size:    tpl.Size,
				License: tpl.License,
				Env:     maps.Clone(tpl.Env),
			},
		},
	}
}

// prMeta is the commit metadata for an action by sender on pr.
func prMeta(ev *Event, pr *gh.PullRequest, sender *gh.User, command string) commit.Meta {
	return commit.Meta{
		Actor:     person(sender),
		Login:     sender.GetLogin(),
		Requester: requester(sender, pr.GetBase().GetRepo().GetFullName(), pr.GetNumber()),
		Source:    pr.GetHTMLURL(),
		Delivery:  ev.Delivery,
		Command:   command,
	}
}

// requester is login acting through pull request number of repo: GitHub
// checked their permission on it (to label, push or close), and the bot
// checks it for commands, so they may change that pull request's
// environment.
func requester(u *gh.User, repo string, number int) commit.Requester {
	return commit.Requester{GitHub: u.GetLogin(), PullRequest: &commit.PullRequestRef{Repository: repo, Number: number}}
}

func (b *Bot) onPullRequest(ctx context.Context, ev *Event) error {
	e := ev.Payload.(*gh.PullRequestEvent)
	repo := e.GetRepo().GetFullName()
	if !b.cfg.serves(repo) {
		return nil
	}
	b.gh.Remember(repo, e.GetInstallation().GetID())
	pr := e.GetPullRequest()
	name := EnvironmentName(repo, pr.GetNumber())
	ref := prRef{Name: name, Repo: repo, Number: pr.GetNumber(), HeadSHA: pr.GetHead().GetSHA()}
	log := b.log.With("delivery", ev.Delivery, "pull_request", fmt.Sprintf("%s#%d", repo, pr.GetNumber()), "action", e.GetAction())
	// Removal is always served, so that an environment never outlives its
	// pull request, whatever the configuration said when it was made.
	creates := !isFork(pr) || b.cfg.ServeForks

	switch e.GetAction() {
	case "labeled":
		label := e.GetLabel().GetName()
		tpl, ok := b.cfg.Templates[label]
		if !ok || pr.GetState() == "closed" {
			return nil
		}
		if !creates {
			log.InfoContext(ctx, "pull request from a fork; not served")
			return b.fb.reply(ctx, ref, fmt.Sprintf("@%s this pull request comes from a fork; test servers are not created for forks here.", e.GetSender().GetLogin()))
		}
		env := b.environmentFor(repo, pr, label, tpl)
		return b.apply(ctx, ref, prMeta(ev, pr, e.GetSender(), fmt.Sprintf("label %q", label)), env)

	case "unlabeled":
		label := e.GetLabel().GetName()
		if _, ok := b.cfg.Templates[label]; !ok {
			return nil
		}
		// Another template label still on the pull request keeps an
		// environment, now of that template.
		if other, ok := b.templateLabel(pr.Labels); ok && other != label && creates && pr.GetState() != "closed" {
			env := b.environmentFor(repo, pr, other, b.cfg.Templates[other])
			return b.apply(ctx, ref, prMeta(ev, pr, e.GetSender(), fmt.Sprintf("unlabel %q", label)), env)
		}
		return b.remove(ctx, ref, prMeta(ev, pr, e.GetSender(), fmt.Sprintf("unlabel %q", label)))

	case "synchronize":
		label, ok := b.templateLabel(pr.Labels)
		if !ok || !creates {
			return nil
		}
		if b.activity != nil {
			b.activity.RecordActivity(ctx, name, b.now(), "push "+shortSHA(ref.HeadSHA))
		}
		env := b.environmentFor(repo, pr, label, b.cfg.Templates[label])
		sha := pr.GetHead().GetSHA()
		res, err := b.committer.Upsert(ctx, prMeta(ev, pr, e.GetSender(), "push "+shortSHA(sha)), name,
			func() *envs.Environment { return env },
			commit.SetVersion(b.cfg.image(repo), b.cfg.version(sha)), commit.SetPullRequestHead(sha))
		return b.afterCommit(ctx, ref, res, err, phaseUpdating)

	case "closed":
		verb := "close"
		if pr.GetMerged() {
			verb = "merge"
		}
		return b.remove(ctx, ref, prMeta(ev, pr, e.GetSender(), verb))

	case "reopened":
		label, ok := b.templateLabel(pr.Labels)
		if !ok || !creates {
			return nil
		}
		env := b.environmentFor(repo, pr, label, b.cfg.Templates[label])
		return b.apply(ctx, ref, prMeta(ev, pr, e.GetSender(), "reopen"), env)
	}
	return nil
}

// apply commits env (creating or replacing) and tells the pull request.
func (b *Bot) apply(ctx context.Context, ref prRef, m commit.Meta, env *envs.Environment) error {
	res, err := b.committer.Put(ctx, m, env)
	return b.afterCommit(ctx, ref, res, err, phaseCreating)
}

// remove commits the environment's removal; none to remove is fine.
func (b *Bot) remove(ctx context.Context, ref prRef, m commit.Meta) error {
	res, err := b.committer.Delete(ctx, m, ref.Name)
	if errors.Is(err, commit.ErrNotFound) {
		return nil
	}
	return b.afterCommit(ctx, ref, res, err, phaseDestroying)
}

// refusalText says, in a pull request comment, which rule of the
// committer's policy refused a change and what to do about it.
func refusalText(e *commit.PolicyError) string {
	quoted := make([]string, len(e.Environments))
	for i, n := range e.Environments {
		quoted[i] = "`" + n + "`"
	}
	list := strings.Join(quoted, ", ")
	switch e.Kind {
	case commit.KindPullRequestQuota:
		return fmt.Sprintf("envwick did not create test server `%s`: %s already has %d pull request test servers (%s), and the quota is %d per author. Remove the test server label from one of those pull requests, or close it, then add the label here again.",
			e.Name, e.Owner.GitHub, e.Used, list, e.Limit)
	case commit.KindNotOwner:
		return fmt.Sprintf("envwick did not change `%s`: it belongs to %s, not to this pull request; only its owner or an admin may change it.", e.Name, commit.OwnerName(e.Owner))
	case commit.KindExtension:
		return fmt.Sprintf("envwick did not extend `%s`: one extension may be at most %s.", e.Name, envs.FormatDuration(e.MaxDuration))
	case commit.KindLifetime:
		return fmt.Sprintf("envwick did not extend `%s`: that would give it a lifetime of %s, and the most is %s.", e.Name, envs.FormatDuration(e.Duration), envs.FormatDuration(e.MaxDuration))
	}
	return "envwick did not change `" + e.Name + "`: " + e.Error() + "."
}

// afterCommit sorts out a commit's outcome: refusals are told on the pull
// request (they would fail again), other errors are retried, and a commit
// puts the environment's comment and status in their in-progress state.
func (b *Bot) afterCommit(ctx context.Context, ref prRef, res commit.Result, err error, p phase) error {
	var invalid *commit.InvalidError
	var refused *commit.PolicyError
	switch {
	case errors.As(err, &invalid):
		b.log.WarnContext(ctx, "environment refused", "environment", ref.Name, "error", err)
		return b.fb.reply(ctx, ref, "envwick could not write environment `"+ref.Name+"`:\n\n```\n"+invalid.Problems.Error()+"\n```")
	case errors.As(err, &refused):
		b.log.InfoContext(ctx, "environment refused by policy", "environment", ref.Name, "rule", string(refused.Kind))
		return b.fb.reply(ctx, ref, refusalText(refused))
	case errors.Is(err, commit.ErrNotFound), errors.Is(err, commit.ErrExists):
		return b.fb.reply(ctx, ref, err.Error())
	case err != nil:
		return err
	}
	if res.Duplicate || !res.Changed {
		return nil
	}
	if res.Environment != nil {
		if pr := res.Environment.Spec.Source.PullRequest; pr != nil {
			ref.HeadSHA = pr.HeadSHA
		}
	}
	if err := b.prs.put(ref); err != nil {
		b.log.Warn("pull request index not saved", "environment", ref.Name, "error", err)
	}
	b.fb.progress(ref, p, res.Commit)
	return nil
}
