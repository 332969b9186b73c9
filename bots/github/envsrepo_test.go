package githubbot

import (
	"strings"
	"testing"

	gh "github.com/google/go-github/v57/github"
)

func TestEnvsRepositoryPullRequestChecks(t *testing.T) {
	const (
		envsRepo = "org/envs"
		base     = "1111111111111111111111111111111111111111"
		head     = "2222222222222222222222222222222222222222"
	)
	r := newRig(t, rigOptions{config: func(c *Config) { c.EnvsRepository = envsRepo }})
	doc := func(name, size string) string {
		return "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: " + name +
			"\nspec:\n  owner:\n    github: jane\n  installation:\n    size: " + size + "\n"
	}
	r.gh.SetContent(envsRepo, base, "environments/changed.yaml", doc("changed", "miniSingleton"))
	r.gh.SetContent(envsRepo, head, "environments/changed.yaml", doc("changed", "miniHA"))
	r.gh.SetContent(envsRepo, head, "environments/team/new.yaml", doc("new", "miniSingleton"))
	r.gh.SetContent(envsRepo, base, "environments/gone.yaml", doc("gone", "miniSingleton"))
	r.gh.SetContent(envsRepo, head, "environments/broken.yaml", doc("broken", "huge"))
	r.gh.SetFiles(envsRepo, 2,
		&gh.CommitFile{Filename: gh.String("environments/changed.yaml"), Status: gh.String("modified")},
		&gh.CommitFile{Filename: gh.String("environments/team/new.yaml"), Status: gh.String("added")},
		&gh.CommitFile{Filename: gh.String("environments/gone.yaml"), Status: gh.String("removed")},
		&gh.CommitFile{Filename: gh.String("environments/broken.yaml"), Status: gh.String("added")},
		&gh.CommitFile{Filename: gh.String("README.md"), Status: gh.String("modified")},
	)
	opened := example(t, "pull_request.opened.0")
	opened.obj("repository")["full_name"] = envsRepo
	opened.obj("pull_request", "head")["sha"] = head
	opened.obj("pull_request", "base")["sha"] = base
	r.send("pull_request", opened)

	runs := r.gh.CheckRuns(envsRepo)
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	run := runs[0]
	if run.GetName() != CheckName || run.GetHeadSHA() != head || run.GetConclusion() != "failure" {
		t.Errorf("check run = %s %s %s", run.GetName(), run.GetHeadSHA(), run.GetConclusion())
	}
	notes := run.GetOutput().Annotations
	if len(notes) != 1 || notes[0].GetPath() != "environments/broken.yaml" || notes[0].GetStartLine() != 9 ||
		!strings.Contains(notes[0].GetMessage(), "miniSingleton") {
		t.Errorf("annotations = %v", notes)
	}
	var plan []string
	for _, c := range r.gh.Comments(envsRepo, 2) {
		if strings.HasPrefix(c.GetBody(), PlanMarker) {
			plan = append(plan, c.GetBody())
		}
	}
	if len(plan) != 1 {
		t.Fatalf("%d plan comments, want 1", len(plan))
	}
	for _, want := range []string{
		"+ create `new` (owner jane, size miniSingleton)",
		"~ update `changed`: installation.size: miniSingleton -> miniHA",
		"- delete `gone`",
		"1 problem(s) must be fixed first",
	} {
		if !strings.Contains(plan[0], want) {
			t.Errorf("plan lacks %q:\n%s", want, plan[0])
		}
	}
	if strings.Contains(plan[0], "`broken`") {
		t.Errorf("an invalid file is planned:\n%s", plan[0])
	}

	// The author fixes the file: a new push, a passing check, the same
	// comment edited.
	const fixed = "3333333333333333333333333333333333333333"
	for _, p := range []string{"environments/changed.yaml", "environments/team/new.yaml"} {
		c := doc(strings.TrimSuffix(p[strings.LastIndex(p, "/")+1:], ".yaml"), "miniHA")
		r.gh.SetContent(envsRepo, fixed, p, c)
	}
	r.gh.SetContent(envsRepo, fixed, "environments/broken.yaml", doc("broken", "miniHA"))
	sync := example(t, "pull_request.synchronize.0")
	sync.obj("repository")["full_name"] = envsRepo
	sync.obj("pull_request", "head")["sha"] = fixed
	sync.obj("pull_request", "base")["sha"] = base
	r.send("pull_request", sync)
	runs = r.gh.CheckRuns(envsRepo)
	if last := runs[len(runs)-1]; last.GetHeadSHA() != fixed || last.GetConclusion() != "success" {
		t.Errorf("after the fix: %s %s", last.GetHeadSHA(), last.GetConclusion())
	}
	n := 0
	for _, c := range r.gh.Comments(envsRepo, 2) {
		if strings.HasPrefix(c.GetBody(), PlanMarker) {
			n++
			if !strings.Contains(c.GetBody(), "+ create `broken`") || strings.Contains(c.GetBody(), "must be fixed") {
				t.Errorf("plan after the fix:\n%s", c.GetBody())
			}
		}
	}
	if n != 1 {
		t.Errorf("%d plan comments, want the one edited in place", n)
	}
	if r.commits() != 0 {
		t.Error("checks committed something")
	}
}
