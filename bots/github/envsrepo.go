package githubbot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform"
)

// Pull requests on the envs repository itself are where people edit
// environments by hand. Each push is planned by the reconciler: the head
// (fetched as refs/pull/N/head, so forks work) merged into the branch's
// current head, planned against the fleet as it is now, with the
// repository-level rules (a name used by one file only, the mass-deletion
// guard). The push gets:
//
//   - a check run, CheckName, failing when the merge would leave an
//     environment file invalid that is this pull request's doing (a file it
//     changes, or one valid before it, such as a file whose name a new file
//     takes), each problem an annotation at file:line:column;
//   - one comment, edited in place (PlanMarker), saying what a reconcile
//     pass would do once the pull request is merged, deletions "held by the
//     mass-deletion guard" included.

// CheckName is the check run the bot posts on envs repository pull
// requests.
const CheckName = "envwick/validate"

// PlanMarker starts the plan comment on an envs repository pull request.
const PlanMarker = "<!-- envwick:plan -->"

// maxAnnotations is GitHub's cap on annotations per check run request.
const maxAnnotations = 50

// maxPlanLines bounds the plan comment; the rest is counted.
const maxPlanLines = 100

// Planner says what a reconcile pass would do once a pull request on the
// envs repository is merged; *reconciler.Reconciler implements it.
type Planner interface {
	PlanMerge(ctx context.Context, head, ref string) (*reconciler.MergePlan, error)
}

func (b *Bot) onEnvsPullRequest(ctx context.Context, ev *Event) error {
	e := ev.Payload.(*gh.PullRequestEvent)
	repo := e.GetRepo().GetFullName()
	if b.cfg.EnvsRepository == "" || b.planner == nil || !strings.EqualFold(repo, b.cfg.EnvsRepository) {
		return nil
	}
	switch e.GetAction() {
	case "opened", "synchronize", "reopened":
	default:
		return nil
	}
	b.gh.Remember(repo, e.GetInstallation().GetID())
	pr := e.GetPullRequest()
	cl, err := b.gh.For(ctx, repo)
	if err != nil {
		return err
	}
	owner, name, _ := strings.Cut(repo, "/")
	head := pr.GetHead().GetSHA()
	mp, err := b.planner.PlanMerge(ctx, head, fmt.Sprintf("refs/pull/%d/head", pr.GetNumber()))
	if err != nil {
		return fmt.Errorf("planning %s#%d at %s: %w", repo, pr.GetNumber(), shortSHA(head), err)
	}
	if err := b.postCheck(ctx, cl, owner, name, head, mp); err != nil {
		return err
	}
	return b.fb.setMarkedComment(ctx, repo, pr.GetNumber(), PlanMarker, renderPlan(mp))
}

// postCheck posts the validate check run on head.
func (b *Bot) postCheck(ctx context.Context, cl *gh.Client, owner, name, head string, mp *reconciler.MergePlan) error {
	var problems envs.Problems
	for _, f := range mp.Introduced {
		problems = append(problems, f.Problems...)
	}
	conclusion, title := "success", "Every environment file is valid after the merge"
	if len(problems) > 0 {
		conclusion, title = "failure", fmt.Sprintf("%s in %s", plural(len(problems), "problem"), plural(len(mp.Introduced), "environment file"))
	}
	var text strings.Builder
	var notes []*gh.CheckRunAnnotation
	for _, p := range problems {
		fmt.Fprintf(&text, "- `%s`\n", p.Error())
		if len(notes) == maxAnnotations {
			continue // the summary still lists them all
		}
		line := max(p.Line, 1)
		a := &gh.CheckRunAnnotation{
			Path: gh.String(p.File), StartLine: gh.Int(line), EndLine: gh.Int(line),
			AnnotationLevel: gh.String("failure"), Title: gh.String(orDash(p.Field)), Message: gh.String(p.Message),
		}
		if p.Column > 0 {
			a.StartColumn, a.EndColumn = gh.Int(p.Column), gh.Int(p.Column)
		}
		notes = append(notes, a)
	}
	summaryText := "Every environment file parses and validates once merged, names included."
	if len(problems) > 0 {
		summaryText = "Fix these before merging; the reconciler leaves an invalid environment as it was.\n\n" + text.String()
	}
	if old := len(mp.Plan.Invalid) - len(mp.Introduced); old > 0 {
		summaryText += fmt.Sprintf("\n\n%s already invalid on %s: not this pull request's doing.",
			plural(old, "other file"), shortSHA(mp.Merge.Base))
	}
	_, _, err := cl.Checks.CreateCheckRun(ctx, owner, name, gh.CreateCheckRunOptions{
		Name: CheckName, HeadSHA: head, Status: gh.String("completed"), Conclusion: gh.String(conclusion),
		Output: &gh.CheckRunOutput{Title: gh.String(title), Summary: gh.String(summaryText), Annotations: notes},
	})
	if err != nil {
		return fmt.Errorf("posting the %s check on %s/%s@%s: %w", CheckName, owner, name, shortSHA(head), err)
	}
	return nil
}

// renderPlan is the plan comment: what a pass would do after the merge,
// one line per environment it would act on (and per environment the pull
// request touches), then the guard, housekeeping, conflicts and problems.
func renderPlan(mp *reconciler.MergePlan) string {
	p := mp.Plan
	touched := map[string]bool{}
	for _, path := range mp.Merge.Changed {
		if n, ok := envs.NameFromPath(path); ok {
			touched[n] = true
		}
	}
	var lines []string
	for _, it := range p.Items {
		if l := planLine(it, touched[it.Name]); l != "" {
			lines = append(lines, l)
		}
	}
	var w strings.Builder
	w.WriteString(PlanMarker + "\n")
	fmt.Fprintf(&w, "**envwick plan** for %s merged into %s: what a reconcile pass would do after merging this pull request\n\n",
		shortSHA(mp.Merge.Head), shortSHA(mp.Merge.Base))
	if len(lines) == 0 {
		w.WriteString("No environment changes.\n")
	} else {
		if len(lines) > maxPlanLines {
			lines = append(lines[:maxPlanLines], fmt.Sprintf("... and %d more", len(lines)-maxPlanLines))
		}
		w.WriteString("```diff\n" + strings.Join(lines, "\n") + "\n```\n")
	}
	if p.Guard != "" {
		fmt.Fprintf(&w, "\nDeletions are held by the mass-deletion guard: %s.\n", p.Guard)
	}
	if len(p.Housekeeping) > 0 {
		w.WriteString("\nHousekeeping the pass would commit:\n")
		for _, h := range p.Housekeeping {
			fmt.Fprintf(&w, "- %s `%s`: %s\n", h.Action, h.Name, h.Reason)
		}
	}
	if len(mp.Merge.Conflicts) > 0 {
		fmt.Fprintf(&w, "\nThe base branch changed these files too since this pull request branched: `%s`. The plan keeps the base's version of them; rebase for an exact plan.\n",
			strings.Join(mp.Merge.Conflicts, "`, `"))
	}
	if n := len(mp.Introduced); n > 0 {
		fmt.Fprintf(&w, "\n%s must be fixed first: see the `%s` check. The reconciler leaves an invalid environment as it is.\n", plural(n, "invalid file"), CheckName)
	}
	return w.String()
}

// planLine is one item of the plan, diff style, or "" for an item that
// changes nothing and that the pull request does not touch.
func planLine(it reconciler.Item, touched bool) string {
	n := "`" + it.Name + "`"
	switch {
	case it.Action == reconciler.ActionDelete && it.Blocked:
		return fmt.Sprintf("! delete %s: held by the mass-deletion guard (%s)", n, strings.TrimSuffix(it.Reason, " [held back by the mass-deletion guard]"))
	case it.Action == reconciler.ActionDelete:
		return fmt.Sprintf("- delete %s: %s", n, it.Reason)
	case it.Action == reconciler.ActionCreate:
		if d, ok := strings.CutPrefix(it.Reason, "no installation yet: create "); ok {
			return fmt.Sprintf("+ create %s %s", n, d)
		}
		return fmt.Sprintf("+ create %s: %s", n, it.Reason)
	case it.Action == reconciler.ActionUpdate && it.Patch != nil && it.Installation != nil:
		return fmt.Sprintf("~ update %s: %s", n, patchDiff(*it.Patch, it.Installation))
	case it.Action.Changes():
		return fmt.Sprintf("~ %s %s: %s", it.Action, n, it.Reason)
	case it.Stalled != "" && strings.HasPrefix(it.Reason, "file has errors"):
		return fmt.Sprintf("! %s: invalid, its installation is left as it is (see the `%s` check)", n, CheckName)
	case touched:
		return fmt.Sprintf("  %s: nothing to do on the platform (%s)", n, it.Reason)
	}
	return ""
}

// patchDiff lists what an update changes, old value to new.
func patchDiff(p platform.InstallationPatch, inst *platform.Installation) string {
	var parts []string
	add := func(field string, want *string, have string) {
		if want != nil {
			parts = append(parts, fmt.Sprintf("%s %s -> %s", field, orDash(have), *want))
		}
	}
	add("version", p.Version, inst.Version)
	add("image", p.Image, inst.Image)
	add("size", p.Size, inst.Size)
	add("license", p.License, inst.License)
	if p.Env != nil {
		var keys []string
		for k := range p.Env {
			if k != reconciler.IdentityEnvVar {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		parts = append(parts, "env "+strings.Join(keys, ", "))
	}
	return strings.Join(parts, "; ")
}

// plural counts a noun.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
