package githubbot

import (
	"net/http"
	"strings"
	"testing"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
)

// TestPullRequestQuota: twelve pull requests by one author labeled at once,
// with a pull-request quota of three, through the webhook intake, give
// exactly three environment files; the other nine pull requests get a reply
// naming the quota.
func TestPullRequestQuota(t *testing.T) {
	r := newRig(t, rigOptions{policy: commit.Policy{MaxPullRequestEnvironments: 3}})
	const prs = 12
	ids := make([]string, prs)
	bodies := make([][]byte, prs)
	for i := range prs {
		ids[i] = newDelivery()
		bodies[i] = example(t, "pull_request.labeled.0").withLabel(LabelCloud).withNumber(i + 1).bytes(t)
	}
	burst(t, r.url, ids, bodies, http.StatusAccepted)
	r.wait()

	files, quotaReplies := 0, 0
	for i := 1; i <= prs; i++ {
		name := EnvironmentName(repoName, i)
		data, ok := r.repo.File(t, envs.PathFor(name))
		if ok {
			files++
			if !strings.Contains(data, "github: Codertocat") {
				t.Errorf("%s:\n%s", name, data)
			}
		}
		for _, c := range r.comments(i) {
			if strings.Contains(c.GetBody(), "Codertocat already has 3 pull request test servers") &&
				strings.Contains(c.GetBody(), "the quota is 3 per author") {
				quotaReplies++
				if ok {
					t.Errorf("%s has an environment and a quota reply", name)
				}
			}
		}
	}
	if files != 3 || quotaReplies != 9 {
		t.Errorf("%d environment files and %d quota replies; want 3 and 9", files, quotaReplies)
	}
	if n := r.commits(); n != 3 {
		t.Errorf("%d commits; want 3", n)
	}

	// A fourth author is not bound by Codertocat's quota.
	other := example(t, "pull_request.labeled.0").withLabel(LabelCloud).withNumber(prs + 1)
	other.obj("pull_request", "user")["login"] = "octocat"
	r.send("pull_request", other)
	if _, ok := r.repo.File(t, envs.PathFor(EnvironmentName(repoName, prs+1))); !ok {
		t.Error("another author's pull request got no environment")
	}
}
