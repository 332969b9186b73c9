package automation

import (
	"context"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

func e2eConfig() Repository {
	return Repository{E2E: &E2E{Workflow: "e2e.yml", Image: "mattermostdevelopment/mattermost-enterprise-edition",
		Suites: map[string]Suite{"smoke": {Size: "miniSingleton"}, "full": {Size: "miniHA", License: "e20"}}, DefaultSuite: "smoke"}}
}

// ready tells the automation the environment is ready, as the reconciler
// does.
func (r *rig) ready(name string) {
	r.auto.Notify(context.Background(), reconciler.Transition{Kind: reconciler.TransitionReady, Name: name,
		Environment: &envs.Environment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: "https://" + name + ".test.example.com"}}}})
	r.wait()
}

// workflowRun derives a workflow_run event of the fake's run id from a
// real example.
func (r *rig) workflowRun(action string, id int64, conclusion string) payload {
	run, ok := r.gh.Run(testRepo, id)
	if !ok {
		r.t.Fatalf("no run %d", id)
	}
	p := example(r.t, "workflow_run.completed.1")
	p["action"] = action
	p.obj("repository")["full_name"] = testRepo
	p.obj("workflow")["path"] = ".github/workflows/e2e.yml"
	w := p.obj("workflow_run")
	w["id"], w["display_title"], w["event"], w["html_url"] = id, run.GetDisplayTitle(), "workflow_dispatch", run.GetHTMLURL()
	w["created_at"] = run.GetCreatedAt().Format(time.RFC3339)
	w["status"], w["conclusion"] = "in_progress", nil
	if action == "completed" {
		w["status"], w["conclusion"] = "completed", conclusion
	}
	return p
}

func latest(r *rig, sha, context string) *gh.RepoStatus {
	var last *gh.RepoStatus
	for _, s := range r.gh.Statuses(testRepo, sha) {
		if s.GetContext() == context {
			last = s
		}
	}
	return last
}

func TestE2ETest(t *testing.T) {
	r := newRig(t, e2eConfig())
	r.gh.SetWorkflow(testRepo, "e2e.yml", "e2e ${{ inputs.environment }} (${{ inputs.suite }})")
	r.gh.SetPermission(testRepo, "maintainer", "write")
	g := r.newGitRepo("hello", map[string]string{"a.txt": "a\n"})
	g.commit("topic", "Change", nil)
	pr := g.pull(1, "topic", "main")
	r.gh.SetPull(testRepo, pr)
	sha := pr.GetHead().GetSHA()
	name := "hello-world-pr-1-e2e-smoke"

	r.send("issue_comment", comment(t, 1, "maintainer", "/e2e-test nosuch"))
	if !strings.Contains(r.lastComment(1), "there is no suite `nosuch`; suites: `full`, `smoke`") {
		t.Fatalf("unknown suite: %q", r.lastComment(1))
	}
	commits := len(r.envs.Commits(t))
	d := r.send("issue_comment", comment(t, 1, "maintainer", "/e2e-test"))
	r.sendAs("issue_comment", d, comment(t, 1, "maintainer", "/e2e-test"))
	if n := len(r.envs.Commits(t)) - commits; n != 1 {
		t.Fatalf("%d envs commits, want one environment", n)
	}
	file, ok := r.envs.File(t, "environments/"+name+".yaml")
	if !ok {
		t.Fatal("no environment committed")
	}
	for _, want := range []string{"github: maintainer", "version: " + sha, "size: miniSingleton", "ttl: 4h", "label: e2e/smoke"} {
		if !strings.Contains(file, want) {
			t.Errorf("environment file lacks %q:\n%s", want, file)
		}
	}
	if st := latest(r, sha, "e2e/smoke"); st.GetState() != "pending" {
		t.Fatalf("status %+v", st)
	}
	if len(r.gh.Dispatches()) != 0 {
		t.Fatal("dispatched before the environment was ready")
	}

	// Ready: the workflow is dispatched once with the environment.
	r.ready(name)
	r.ready(name)
	ds := r.gh.Dispatches()
	if len(ds) != 1 || ds[0].Workflow != "e2e.yml" || ds[0].Ref != "main" || ds[0].Inputs["environment"] != name ||
		ds[0].Inputs["url"] != "https://"+name+".test.example.com" || ds[0].Inputs["sha"] != sha {
		t.Fatalf("dispatches %+v", ds)
	}
	id := ds[0].RunID
	r.send("workflow_run", r.workflowRun("in_progress", id, ""))
	if st := latest(r, sha, "e2e/smoke"); st.GetState() != "pending" || !strings.Contains(st.GetTargetURL(), "/actions/runs/") {
		t.Fatalf("running status %+v", st)
	}
	r.send("workflow_run", r.workflowRun("completed", id, "failure"))
	if st := latest(r, sha, "e2e/smoke"); st.GetState() != "failure" {
		t.Fatalf("final status %+v", st)
	}
	if _, ok := r.envs.File(t, "environments/"+name+".yaml"); ok {
		t.Fatal("the environment outlived its run")
	}
}

func TestE2ECancelAndReplace(t *testing.T) {
	r := newRig(t, e2eConfig())
	r.gh.SetWorkflow(testRepo, "e2e.yml", "e2e ${{ inputs.environment }}")
	r.gh.SetPermission(testRepo, "maintainer", "write")
	g := r.newGitRepo("hello", map[string]string{"a.txt": "a\n"})
	g.commit("topic", "Change", nil)
	r.gh.SetPull(testRepo, g.pull(1, "topic", "main"))
	name := "hello-world-pr-1-e2e-full"

	r.send("issue_comment", comment(t, 1, "maintainer", "/e2e-test full"))
	r.ready(name)
	first := r.gh.Dispatches()[0].RunID
	// A new head and /e2e-test again: the run in progress is cancelled and
	// replaced, and its late completion does not touch the new run.
	sha2 := g.commit("topic", "Change again", nil)
	r.gh.SetPull(testRepo, g.pull(1, "topic", "main"))
	r.send("issue_comment", comment(t, 1, "maintainer", "/e2e-test full"))
	if run, _ := r.gh.Run(testRepo, first); run.GetConclusion() != "cancelled" {
		t.Fatalf("replaced run %+v", run)
	}
	r.send("workflow_run", r.workflowRun("completed", first, "cancelled"))
	if _, ok := r.envs.File(t, "environments/"+name+".yaml"); !ok {
		t.Fatal("the replaced run's completion deleted the new environment")
	}
	r.auto.Notify(context.Background(), reconciler.Transition{Kind: reconciler.TransitionUpdated, Name: name,
		Environment: &envs.Environment{Status: envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: "https://x"}}}})
	r.wait()
	if n := len(r.gh.Dispatches()); n != 2 {
		t.Fatalf("%d dispatches, want 2", n)
	}
	second := r.gh.Dispatches()[1].RunID

	r.send("issue_comment", comment(t, 1, "maintainer", "/e2e-cancel full"))
	if run, _ := r.gh.Run(testRepo, second); run.GetConclusion() != "cancelled" {
		t.Fatalf("cancelled run %+v", run)
	}
	if st := latest(r, sha2, "e2e/full"); st.GetState() != "error" || !strings.Contains(st.GetDescription(), "Cancelled by @maintainer") {
		t.Fatalf("status %+v", st)
	}
	if _, ok := r.envs.File(t, "environments/"+name+".yaml"); ok {
		t.Fatal("/e2e-cancel left the environment")
	}
	r.send("issue_comment", comment(t, 1, "maintainer", "/e2e-cancel full"))
	if !strings.Contains(r.lastComment(1), "no end-to-end run of suite `full` is in progress") {
		t.Fatalf("second cancel: %q", r.lastComment(1))
	}
}
