package automation

import (
	"strings"
	"testing"

	gh "github.com/google/go-github/v57/github"
)

// mergedPull merges branch into main of g with a merge commit, as GitHub's
// merge button does, and returns the merged pull request.
func mergedPull(t *testing.T, g *gitRepo, number int, branch string) *gh.PullRequest {
	t.Helper()
	pr := g.pull(number, branch, "main")
	g.checkout("main")
	run(t, g.work, "merge", "-q", "--no-ff", "-m", "Merge pull request #1", branch)
	run(t, g.work, "push", "-q", g.bare, "main")
	pr.State, pr.Merged, pr.MergeCommitSHA = gh.String("closed"), gh.Bool(true), gh.String(g.head("main"))
	pr.MergedBy = &gh.User{Login: gh.String("maintainer")}
	pr.Commits = gh.Int(1)
	return pr
}

func TestCherryPick(t *testing.T) {
	r := newRig(t, Repository{CherryPick: &CherryPick{}})
	g := r.newGitRepo("hello", map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	g.commit("release-1.0", "Release 1.0", nil)
	g.commit("release-1.1", "Release 1.1", map[string]string{"a.txt": "conflicting\n"})
	g.checkout("main")
	g.commit("fix", "Fix a", map[string]string{"a.txt": "fixed\n"})
	r.gh.SetPermission(testRepo, "maintainer", "write")
	pr := g.pull(1, "fix", "main")
	r.gh.SetPull(testRepo, pr)

	// Before the merge: accepted, nothing done yet.
	r.send("issue_comment", comment(t, 1, "maintainer", "/cherry-pick release-1.0 release-1.1"))
	if !strings.Contains(r.lastComment(1), "will be cherry-picked onto `release-1.0`, `release-1.1` when it is") {
		t.Fatalf("before merge: %q", r.lastComment(1))
	}
	r.send("issue_comment", comment(t, 1, "maintainer", "/cherry-pick main"))
	if !strings.Contains(r.lastComment(1), "`main` is not a release branch") {
		t.Fatalf("bad target: %q", r.lastComment(1))
	}
	r.send("issue_comment", comment(t, 1, "stranger", "/cherry-pick release-1.0"))
	if !strings.Contains(r.lastComment(1), "needs write access") {
		t.Fatalf("stranger: %q", r.lastComment(1))
	}

	// The merge runs what was asked: release-1.0 cleanly, release-1.1
	// conflicts and leaves no branch.
	merged := mergedPull(t, g, 1, "fix")
	r.gh.SetPull(testRepo, merged)
	closed := example(t, "pull_request.closed.0")
	closed.obj("pull_request")["merged"] = true
	closed.obj("pull_request")["number"] = 1
	closed["number"] = 1
	closed.obj("pull_request", "base", "repo")["clone_url"] = g.url
	closed.obj("pull_request")["merge_commit_sha"] = merged.GetMergeCommitSHA()
	closed.obj("pull_request", "base")["ref"] = "main"
	closed.obj("pull_request")["title"] = "Update the README"
	d := r.send("pull_request", closed)

	branch := "cherry-pick-1-to-release-1.0"
	picked := g.head(branch)
	if picked == "" {
		t.Fatalf("no cherry-pick branch; comments %q", r.comments(1))
	}
	if got := run(t, g.bare, "show", picked+":a.txt"); got != "fixed" {
		t.Fatalf("a.txt on the cherry-pick = %q", got)
	}
	if parent := run(t, g.bare, "rev-parse", picked+"^"); parent != g.head("release-1.0") {
		t.Fatal("the cherry-pick is not on release-1.0")
	}
	if g.head("cherry-pick-1-to-release-1.1") != "" {
		t.Fatal("a conflicting cherry-pick left a branch")
	}
	report := r.lastComment(1)
	if !strings.Contains(report, "`release-1.0`: cherry-picked in #2") || !strings.Contains(report, "`release-1.1`: the cherry-pick conflicts in:") || !strings.Contains(report, "`a.txt`") {
		t.Fatalf("report %q", report)
	}
	np, ok := r.gh.Pull(testRepo, 2)
	if !ok || np.GetTitle() != "[release-1.0] Update the README" || np.GetBase().GetRef() != "release-1.0" || !strings.Contains(np.GetBody(), "#1") {
		t.Fatalf("cherry-pick pull request %+v", np)
	}

	// Replayed, and asked again after the merge: no second pull request.
	r.sendAs("pull_request", d, closed)
	r.send("issue_comment", comment(t, 1, "maintainer", "/cherry-pick release-1.0 release-0.9"))
	if n := len(r.gh.Pulls(testRepo)); n != 2 {
		t.Fatalf("%d pull requests, want the original and one cherry-pick", n)
	}
	if got := r.lastComment(1); !strings.Contains(got, "cherry-picked in #2") || !strings.Contains(got, "`release-0.9`: there is no such branch") {
		t.Fatalf("after merge: %q", got)
	}
	if g.head(branch) != picked {
		t.Fatal("the cherry-pick branch moved")
	}
}

func TestCherryPickApprovedAtMerge(t *testing.T) {
	r := newRig(t, Repository{CherryPick: &CherryPick{Milestones: map[string]string{"Next": "release-2.0"}}})
	g := r.newGitRepo("hello", map[string]string{"a.txt": "a\n"})
	g.commit("release-7.8", "Release 7.8", nil)
	g.checkout("main")
	g.commit("fix", "Fix a", map[string]string{"a.txt": "fixed\n"})
	for _, tc := range []struct {
		number    int
		milestone string
		label     string
	}{
		{1, "v7.8.1", LabelCherryPickDone},
		{2, "Next", LabelCherryPickFailed}, // mapped, but release-2.0 does not exist
		{3, "", LabelCherryPickFailed},     // no milestone
	} {
		pr := mergedPull(t, g, tc.number, "fix")
		if tc.milestone != "" {
			pr.Milestone = &gh.Milestone{Number: gh.Int(tc.number), Title: gh.String(tc.milestone)}
		}
		pr.Labels = []*gh.Label{{Name: gh.String(LabelCherryPickApproved)}}
		r.gh.SetPull(testRepo, pr)
		ev := example(t, "pull_request.closed.0")
		ev["number"] = tc.number
		data, _ := jsonRoundTrip(pr)
		ev["pull_request"] = data
		r.send("pull_request", ev)
		if got := r.gh.Labels(testRepo, tc.number); len(got) != 1 || got[0] != tc.label {
			t.Errorf("#%d (%q): labels %v, want [%s]; comments %q", tc.number, tc.milestone, got, tc.label, r.comments(tc.number))
		}
	}
	if g.head("cherry-pick-1-to-release-7.8") == "" {
		t.Fatal("v7.8.1 was not cherry-picked to release-7.8")
	}
}
