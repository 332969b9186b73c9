package automation

import (
	"strings"
	"testing"

	gh "github.com/google/go-github/v57/github"
)

func TestUpdateBranch(t *testing.T) {
	r := newRig(t, Repository{UpdateBranch: &UpdateBranch{}})
	g := r.newGitRepo("hello", map[string]string{"README.md": "hello\n", "a.txt": "a\n"})
	g.commit("topic", "Change b", map[string]string{"b.txt": "b\n"})
	g.checkout("main")
	g.commit("main", "Change a", map[string]string{"a.txt": "a2\n"})
	r.gh.SetPull(testRepo, g.pull(1, "topic", "main"))
	r.gh.SetPermission(testRepo, "maintainer", "write")
	r.gh.SetPermission(testRepo, "reader", "read")
	before := g.head("topic")

	// Refusals first: nothing is pushed for any of them.
	r.send("issue_comment", comment(t, 1, "reader", "/update-branch"))
	if !strings.Contains(r.lastComment(1), "needs write access") {
		t.Fatalf("reader: %q", r.lastComment(1))
	}
	r.send("issue_comment", comment(t, 1, "maintainer", "/update-branch now"))
	if !strings.Contains(r.lastComment(1), "Unexpected argument \"now\"") {
		t.Fatalf("bad arguments: %q", r.lastComment(1))
	}
	r.send("issue_comment", comment(t, 7, "maintainer", "/update-branch").onIssue())
	if cs := r.comments(7); len(cs) != 1 || !strings.Contains(cs[0], "works on pull requests") {
		t.Fatalf("on an issue: %q", cs)
	}
	if g.head("topic") != before {
		t.Fatal("a refusal pushed")
	}

	// The merge: a real merge commit, authored by the commenter, pushed.
	d := r.send("issue_comment", comment(t, 1, "maintainer", "/update-branch"))
	after := g.head("topic")
	if after == before {
		t.Fatalf("nothing pushed; reply %q", r.lastComment(1))
	}
	parents := strings.Fields(run(t, g.bare, "rev-list", "--parents", "-n", "1", after))
	if len(parents) != 3 || parents[1] != before || parents[2] != g.head("main") {
		t.Fatalf("merge commit parents %v, want %s and %s", parents[1:], before, g.head("main"))
	}
	if msg := run(t, g.bare, "log", "-1", "--format=%s|%an|%cn", after); msg != "Merge branch 'main' into topic|maintainer|envwick" {
		t.Fatalf("merge commit %q", msg)
	}
	if !strings.Contains(r.lastComment(1), "merged `main` into `topic`") {
		t.Fatalf("reply %q", r.lastComment(1))
	}

	// A replayed delivery, and the command again: no second merge commit.
	r.sendAs("issue_comment", d, comment(t, 1, "maintainer", "/update-branch"))
	r.send("issue_comment", comment(t, 1, "maintainer", "/update-branch"))
	if g.head("topic") != after {
		t.Fatal("a second merge commit")
	}
	if !strings.Contains(r.lastComment(1), "up to date") {
		t.Fatalf("second run: %q", r.lastComment(1))
	}
	if strings.Contains(strings.Join(r.comments(1), "\n"), gitToken) {
		t.Fatal("the git token reached a comment")
	}
}

func TestUpdateBranchRefusals(t *testing.T) {
	r := newRig(t, Repository{UpdateBranch: &UpdateBranch{}})
	g := r.newGitRepo("hello", map[string]string{"a.txt": "a\n"})
	g.commit("topic", "Change a here", map[string]string{"a.txt": "topic\n"})
	g.checkout("main")
	g.commit("main", "Change a there", map[string]string{"a.txt": "main\n"})
	r.gh.SetPermission(testRepo, "maintainer", "admin")
	before := g.head("topic")

	conflict := g.pull(1, "topic", "main")
	fork := g.pull(2, "topic", "main")
	fork.Head.Repo = &gh.Repository{FullName: gh.String("someone/Hello-World"), CloneURL: gh.String(g.url)}
	fork.MaintainerCanModify = gh.Bool(false)
	closed := g.pull(3, "topic", "main")
	closed.State = gh.String("closed")
	gone := g.pull(4, "deleted-branch", "main")
	for _, pr := range []*gh.PullRequest{conflict, fork, closed, gone} {
		r.gh.SetPull(testRepo, pr)
	}
	for _, tc := range []struct {
		number int
		want   string
	}{
		{1, "conflicts in:\n\n- `a.txt`"},
		{2, "does not allow edits from maintainers"},
		{3, "this pull request is closed"},
		{4, "`deleted-branch` of Codertocat/Hello-World does not exist"},
	} {
		r.send("issue_comment", comment(t, tc.number, "maintainer", "/update-branch"))
		if got := r.lastComment(tc.number); !strings.Contains(got, tc.want) {
			t.Errorf("#%d: reply %q, want %q", tc.number, got, tc.want)
		}
	}
	if g.head("topic") != before {
		t.Fatal("a refused update pushed")
	}
}
