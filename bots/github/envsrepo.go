package githubbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/envs"
)

// Pull requests on the envs repository itself are where people edit
// environments by hand. Each push gets:
//
//   - a check run, CheckName, with envs.Parse's problems as annotations at
//     file:line:column, failing when any file is invalid;
//   - one comment, edited in place (PlanMarker), with the plan of what
//     merging would change: environments created, changed (field by field)
//     and deleted, Atlantis style.
//
// The plan is computed from the files (base against head). It says what
// the reconciler will be asked to do, not how the platform will get there.

// CheckName is the check run the bot posts on envs repository pull
// requests.
const CheckName = "envwick/validate"

// PlanMarker starts the plan comment on an envs repository pull request.
const PlanMarker = "<!-- envwick:plan -->"

// maxAnnotations is GitHub's cap on annotations per check run request.
const maxAnnotations = 50

func (b *Bot) onEnvsPullRequest(ctx context.Context, ev *Event) error {
	e := ev.Payload.(*gh.PullRequestEvent)
	repo := e.GetRepo().GetFullName()
	if b.cfg.EnvsRepository == "" || !strings.EqualFold(repo, b.cfg.EnvsRepository) {
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
	head, base := pr.GetHead().GetSHA(), pr.GetBase().GetSHA()

	var files []*gh.CommitFile
	opts := &gh.ListOptions{PerPage: 100}
	for {
		page, resp, err := cl.PullRequests.ListFiles(ctx, owner, name, pr.GetNumber(), opts)
		if err != nil {
			return fmt.Errorf("listing files of %s#%d: %w", repo, pr.GetNumber(), err)
		}
		files = append(files, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}

	read := func(path, ref string) ([]byte, bool, error) {
		fc, _, resp, err := cl.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: ref})
		if resp != nil && resp.StatusCode == 404 {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading %s at %s: %w", path, shortSHA(ref), err)
		}
		s, err := fc.GetContent()
		return []byte(s), true, err
	}

	var problems envs.Problems
	var plan []string
	checked := 0
	for _, f := range files {
		path := f.GetFilename()
		nameNow, isEnv := envs.NameFromPath(path)
		before := f.GetFilename()
		if f.GetStatus() == "renamed" && f.GetPreviousFilename() != "" {
			before = f.GetPreviousFilename()
		}
		nameBefore, wasEnv := envs.NameFromPath(before)
		if !isEnv && !wasEnv {
			continue
		}
		var old, next *envs.Environment
		if wasEnv && f.GetStatus() != "added" {
			data, ok, err := read(before, base)
			if err != nil {
				return err
			}
			if ok {
				old, _ = envs.Parse(before, data) // a broken base is not this PR's fault
			}
		}
		if isEnv && f.GetStatus() != "removed" {
			data, ok, err := read(path, head)
			if err != nil {
				return err
			}
			if ok {
				checked++
				e, err := envs.Parse(path, data)
				var ps envs.Problems
				switch {
				case errors.As(err, &ps):
					problems = append(problems, ps...)
				case err != nil:
					problems = append(problems, envs.Problem{File: path, Message: err.Error()})
				default:
					next = e
				}
			}
		}
		switch {
		case old == nil && next != nil:
			plan = append(plan, fmt.Sprintf("+ create `%s` (%s)", nameNow, summary(next)))
		case old != nil && next == nil && f.GetStatus() == "removed":
			plan = append(plan, fmt.Sprintf("- delete `%s`: its installation will be deleted", nameBefore))
		case old != nil && next != nil:
			if nameBefore != nameNow {
				plan = append(plan, fmt.Sprintf("- delete `%s`, + create `%s` (renamed: a new installation)", nameBefore, nameNow))
				continue
			}
			if diff := specDiff(old, next); len(diff) > 0 {
				plan = append(plan, fmt.Sprintf("~ update `%s`: %s", nameNow, strings.Join(diff, "; ")))
			}
		}
	}

	if err := b.postCheck(ctx, cl, owner, name, head, checked, problems); err != nil {
		return err
	}
	return b.fb.setMarkedComment(ctx, repo, pr.GetNumber(), PlanMarker, renderPlan(head, plan, len(problems)))
}

// postCheck posts the validate check run on head.
func (b *Bot) postCheck(ctx context.Context, cl *gh.Client, owner, name, head string, checked int, problems envs.Problems) error {
	conclusion, title := "success", fmt.Sprintf("%d environment file(s) valid", checked)
	if len(problems) > 0 {
		conclusion, title = "failure", fmt.Sprintf("%d problem(s) in environment files", len(problems))
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
	summaryText := "Every changed environment file parses and validates."
	if len(problems) > 0 {
		summaryText = "Fix these before merging; the reconciler leaves an invalid environment as it was.\n\n" + text.String()
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

func renderPlan(head string, plan []string, problems int) string {
	var w strings.Builder
	w.WriteString(PlanMarker + "\n")
	fmt.Fprintf(&w, "**envwick plan** for %s: what merging this pull request would change\n\n", shortSHA(head))
	if len(plan) == 0 {
		w.WriteString("No environment changes.\n")
	} else {
		w.WriteString("```diff\n" + strings.Join(plan, "\n") + "\n```\n")
	}
	if problems > 0 {
		fmt.Fprintf(&w, "\n%d problem(s) must be fixed first: see the `%s` check.\n", problems, CheckName)
	}
	return w.String()
}

func summary(e *envs.Environment) string {
	in := e.Spec.Installation
	parts := []string{"owner " + orDash(firstNonEmpty(e.Spec.Owner.GitHub, e.Spec.Owner.Mattermost))}
	for _, kv := range [][2]string{{"size", in.Size}, {"version", in.Version}, {"license", in.License}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	return strings.Join(parts, ", ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// specDiff lists the spec fields that differ, as "field: old -> new".
func specDiff(old, next *envs.Environment) []string {
	a, b := flatten(old.Spec), flatten(next.Spec)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		if a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, orDash(a[k]), orDash(b[k])))
		}
	}
	return slices.Clip(out)
}

// flatten turns a value into dotted paths of its JSON leaves.
func flatten(v any) map[string]string {
	out := map[string]string{}
	data, _ := json.Marshal(v)
	var doc any
	_ = json.Unmarshal(data, &doc)
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, c)
			}
		case nil:
		default:
			s, _ := json.Marshal(x)
			out[prefix] = strings.Trim(string(s), `"`)
		}
	}
	walk("", doc)
	return out
}
