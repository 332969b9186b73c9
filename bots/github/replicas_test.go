package githubbot

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/bots/github/fakegithub"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// Two bot replicas, each with a clone and a data dir of its own (no shared
// disk) of one envs remote, both receive the same webhook delivery at once
// (a load balancer's retry, a redelivery): one commit, and neither replica
// answers as if the environment were missing.
func TestOneDeliveryToTwoReplicasMakesOneCommit(t *testing.T) {
	const number = 7
	name := EnvironmentName(repoName, number)
	path := "environments/" + name + ".yaml"
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	bare := gittest.InitBare(t, root, "envs.git")
	url := d.URL("envs.git")
	seed := committest.Open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), "seed")}, bare, map[string]string{"README.md": "envs\n"})
	fake := fakegithub.New()
	t.Cleanup(fake.Close)
	fake.SetPull(repoName, &gh.PullRequest{
		Number: gh.Int(number), State: gh.String("open"),
		HTMLURL: gh.String("https://github.com/Codertocat/Hello-World/pull/7"),
		User:    &gh.User{Login: gh.String("octocat"), ID: gh.Int64(583231)},
		Head:    &gh.PullRequestBranch{SHA: gh.String(headSHA), Repo: &gh.Repository{FullName: gh.String(repoName)}},
		Base:    &gh.PullRequestBranch{Repo: &gh.Repository{FullName: gh.String(repoName)}},
	})
	fake.SetPermission(repoName, "writer", "write")
	replica := func(dir string) *rig {
		repo := committest.Open(t, store.Options{URL: url, Dir: filepath.Join(t.TempDir(), dir)}, bare, nil)
		return newRig(t, rigOptions{repo: repo, gh: fake, dataDir: t.TempDir(),
			policy: commit.Policy{DefaultTTL: 7 * 24 * time.Hour, MaxExtension: 7 * 24 * time.Hour, MaxLifetime: 14 * 24 * time.Hour}})
	}
	a, b := replica("a"), replica("b")

	// Replica a creates the environment; b's clone has not fetched since.
	a.send("issue_comment", example(t, "issue_comment.created.0").onPR(number, "writer", "/env create"))
	if _, ok := seed.File(t, path); !ok {
		t.Fatal("no environment after /env create")
	}

	// Extending adds to the TTL, so applying it twice would show.
	delivery := newDelivery()
	body := example(t, "issue_comment.created.0").onPR(number, "writer", "/env extend 1d").bytes(t)
	var wg sync.WaitGroup
	for _, r := range []*rig{a, b} {
		wg.Go(func() {
			if code, out := send(t, r.url, "issue_comment", delivery, body); code/100 != 2 {
				t.Errorf("status %d: %s", code, out)
			}
		})
	}
	wg.Wait()
	a.wait()
	b.wait()

	extends := 0
	for _, c := range seed.Commits(t) {
		if strings.HasPrefix(committest.Trailer(c, commit.TrailerDelivery), delivery) {
			extends++
		}
	}
	if extends != 1 {
		t.Errorf("%d commits for the delivery sent to both replicas; want 1", extends)
	}
	if f, _ := seed.File(t, path); !strings.Contains(f, "ttl: 8d") {
		t.Errorf("the environment was not extended exactly once:\n%s", f)
	}
	for _, c := range a.comments(number) {
		if body := c.GetBody(); strings.Contains(body, "no test server") {
			t.Errorf("a replica answered from a stale clone: %q", body)
		}
	}
}
