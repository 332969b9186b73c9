package githubbot

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/fake"
)

// envsRig is an envs repository served from a bare repository (GitHub's
// side), a fleet on the fake platform reconciled from it, and a person's
// clone whose pushes land on refs/pull/N/head only, as a fork's do.
type envsRig struct {
	*rig
	bare, work string
	platform   *fake.Platform
}

const envsRepo = "org/envs"

func envDoc(name, size string) string {
	return "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: " + name +
		"\nspec:\n  owner:\n    github: jane\n  installation:\n    size: " + size + "\n"
}

func newEnvsRig(t *testing.T, names ...string) *envsRig {
	t.Helper()
	root := t.TempDir()
	bare := gittest.InitBare(t, root, "envs.git")
	files := map[string]string{}
	for _, n := range names {
		files["environments/"+n+".yaml"] = envDoc(n, "miniSingleton")
	}
	repo := committest.Open(t, store.Options{URL: bare, Dir: filepath.Join(root, "clone")}, bare, files)
	p := &fake.Platform{}
	rec, err := reconciler.New(&reconciler.StoreRepository{Repo: repo.Repo}, p,
		reconciler.Config{Owner: reconciler.Owner{OwnerID: "envwick-test"}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := rec.Pass(ctx, reconciler.PassOptions{}); err != nil {
			t.Fatal(err)
		}
		p.Settle()
	}
	work := filepath.Join(root, "work")
	gittest.Git(t, root, "clone", "-q", bare, work)
	r := newRig(t, rigOptions{repo: repo, planner: rec, config: func(c *Config) { c.EnvsRepository = envsRepo }})
	return &envsRig{rig: r, bare: bare, work: work, platform: p}
}

// push commits the work tree's changes and pushes them as pull request
// number's head, returning the commit.
func (e *envsRig) push(number int, msg string, write map[string]string, remove ...string) string {
	e.t.Helper()
	for p, c := range write {
		gittest.WriteFile(e.t, e.work, p, []byte(c))
	}
	for _, p := range remove {
		gittest.Git(e.t, e.work, "rm", "-q", p)
	}
	gittest.Git(e.t, e.work, "add", "-A")
	gittest.Git(e.t, e.work, "commit", "-q", "-m", msg)
	head := gittest.Git(e.t, e.work, "rev-parse", "HEAD")
	gittest.Git(e.t, e.work, "push", "-q", "-f", "origin", fmt.Sprintf("HEAD:refs/pull/%d/head", number))
	return head
}

func (e *envsRig) event(action string, number int, head string) {
	e.t.Helper()
	p := example(e.t, "pull_request."+action+".0").withNumber(number).withHead(head)
	p.obj("repository")["full_name"] = envsRepo
	e.send("pull_request", p)
}

func (e *envsRig) planComment(number int) string {
	e.t.Helper()
	var plans []string
	for _, c := range e.gh.Comments(envsRepo, number) {
		if strings.HasPrefix(c.GetBody(), PlanMarker) {
			plans = append(plans, c.GetBody())
		}
	}
	if len(plans) != 1 {
		e.t.Fatalf("%d plan comments on #%d, want one edited in place", len(plans), number)
	}
	return plans[0]
}

// planHas checks that the plan comment on number holds every want.
func (e *envsRig) planHas(number int, wants ...string) string {
	e.t.Helper()
	plan := e.planComment(number)
	for _, want := range wants {
		if !strings.Contains(plan, want) {
			e.t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	return plan
}

func (e *envsRig) lastRun() *gh.CheckRun {
	runs := e.gh.CheckRuns(envsRepo)
	if len(runs) == 0 {
		e.t.Fatal("no check run")
	}
	return runs[len(runs)-1]
}

// The check and the comment come from the reconciler's plan of the merge:
// a second file taking an existing name fails the check on both files
// (the untouched one included), a broken file is annotated at its line,
// and the comment says what a pass would do after the merge. A fixing push
// passes and edits the same comment.
func TestEnvsRepositoryPullRequestChecks(t *testing.T) {
	e := newEnvsRig(t, "changed", "gone", "keep-a", "keep-b", "keep-c", "keep-d", "keep-e")
	gittest.Git(t, e.work, "checkout", "-q", "-b", "edits")
	head := e.push(2, "Edit environments", map[string]string{
		"environments/changed.yaml":    envDoc("changed", "miniHA"),
		"environments/team/new.yaml":   envDoc("new", "miniSingleton"),
		"environments/broken.yaml":     envDoc("broken", "huge"),
		"environments/sub/keep-a.yaml": envDoc("keep-a", "miniHA"),
		"README.md":                    "Environments of the team.\n",
	}, "environments/gone.yaml")
	e.event("opened", 2, head)

	run := e.lastRun()
	if run.GetName() != CheckName || run.GetHeadSHA() != head || run.GetConclusion() != "failure" {
		t.Errorf("check run = %s %s %s", run.GetName(), run.GetHeadSHA(), run.GetConclusion())
	}
	at := map[string]int{}
	for _, a := range run.GetOutput().Annotations {
		at[a.GetPath()] = a.GetStartLine()
	}
	if len(at) != 3 || at["environments/broken.yaml"] != 9 || at["environments/keep-a.yaml"] != 4 || at["environments/sub/keep-a.yaml"] != 4 {
		t.Errorf("annotations at %v; want broken.yaml:9 and both keep-a files at metadata.name", at)
	}
	plan := e.planHas(2,
		"+ create `new` (", "size miniSingleton",
		"~ update `changed`: size miniSingleton -> miniHA",
		"- delete `gone`: environment file removed",
		"! `keep-a`: invalid, its installation is left as it is",
		"! `broken`: invalid",
		"3 invalid files must be fixed first",
	)
	if strings.Contains(plan, "create `broken`") || strings.Contains(plan, "keep-b") {
		t.Errorf("the plan acts on an invalid file or lists an untouched environment with nothing to do:\n%s", plan)
	}

	// The author fixes both: a passing check, the same comment edited.
	fixed := e.push(2, "Fix", map[string]string{"environments/broken.yaml": envDoc("broken", "miniHA")}, "environments/sub/keep-a.yaml")
	e.event("synchronize", 2, fixed)
	if run := e.lastRun(); run.GetHeadSHA() != fixed || run.GetConclusion() != "success" {
		t.Errorf("after the fix: %s %s %q", run.GetHeadSHA(), run.GetConclusion(), run.GetOutput().GetSummary())
	}
	plan = e.planComment(2)
	if !strings.Contains(plan, "+ create `broken`") || strings.Contains(plan, "must be fixed") || strings.Contains(plan, "keep-a") {
		t.Errorf("plan after the fix:\n%s", plan)
	}
	if e.commits() != 0 {
		t.Error("checks committed something")
	}
	if n := e.platform.Len(); n != 7 {
		t.Errorf("%d installations, want the 7 untouched", n)
	}
}

// A pull request removing most environments: the comment says the
// deletions are held by the mass-deletion guard, as the pass after the
// merge would hold them; main having moved on since the branch was cut
// does not read as deletions.
func TestEnvsRepositoryPullRequestHeldByTheGuard(t *testing.T) {
	e := newEnvsRig(t, "a-1", "a-2", "a-3", "a-4", "a-5")
	gittest.Git(t, e.work, "checkout", "-q", "-b", "cleanup")
	head := e.push(3, "Remove most", nil, "environments/a-1.yaml", "environments/a-2.yaml", "environments/a-3.yaml")
	// Main moves on: a bot adds an environment after the branch was cut.
	if _, err := e.repo.Commit(context.Background(), store.Change{Message: "Add late", Apply: func(tx *store.Tx) error {
		tx.Write("environments/late.yaml", []byte(envDoc("late", "miniSingleton")))
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	e.event("opened", 3, head)
	plan := e.planHas(3,
		"! delete `a-1`: held by the mass-deletion guard",
		"! delete `a-3`: held by the mass-deletion guard",
		"Deletions are held by the mass-deletion guard: this pass would delete 3 of 5 owned installations",
		"+ create `late`",
	)
	if strings.Contains(plan, "- delete") || strings.Contains(plan, "`a-4`") {
		t.Errorf("plan deletes past the guard or lists an untouched environment:\n%s", plan)
	}
	if run := e.lastRun(); run.GetConclusion() != "success" {
		t.Errorf("check %s: a held deletion is not an invalid file", run.GetConclusion())
	}
	if n := e.platform.Len(); n != 5 {
		t.Errorf("%d installations after a plan, want 5", n)
	}
}
