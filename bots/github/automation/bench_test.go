package automation

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"

	"github.com/envwick/envwick/envs/store/gittest"
)

// fastImport fills the bare repository dir with n commits on main (each
// changing one of 100 files) and a branch topic forked 10 commits before
// main's tip with a commit of its own, through git fast-import: seconds,
// where committing one by one would take minutes.
func fastImport(b *testing.B, dir string, n int) {
	var s bytes.Buffer
	for i := 1; i <= n; i++ {
		content := fmt.Sprintf("line %d\n", i)
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter Test <test@example.com> %d +0000\ndata 10\ncommit %03d\n", i, 1700000000+i, i%1000)
		if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i-1)
		}
		fmt.Fprintf(&s, "M 100644 inline file%02d.txt\ndata %d\n%s\n", i%100, len(content), content)
	}
	fmt.Fprintf(&s, "commit refs/heads/topic\nmark :%d\ncommitter Test <test@example.com> %d +0000\ndata 5\ntopic\nfrom :%d\nM 100644 inline topic.txt\ndata 6\ntopic\n\n", n+1, 1700000000+n+1, n-10)
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = &s
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
}

// BenchmarkUpdateBranch measures "/update-branch", from the comment's
// webhook to the merge commit pushed, on a repository of 10,000 commits
// served over smart HTTP.
func BenchmarkUpdateBranch(b *testing.B) {
	r := newRig(b, Repository{UpdateBranch: &UpdateBranch{}})
	dir := gittest.InitBare(b, r.root, "big.git")
	fastImport(b, dir, 10_000)
	g := &gitRepo{t: b, bare: dir, url: r.git.URL("big.git")}
	topic := g.head("topic")
	r.gh.SetPull(testRepo, g.pull(1, "topic", "main"))
	r.gh.SetPermission(testRepo, "maintainer", "write")
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		run(b, dir, "update-ref", "refs/heads/topic", topic)
		b.StartTimer()
		r.send("issue_comment", comment(b, 1, "maintainer", "/update-branch"))
		b.StopTimer()
		if g.head("topic") == topic {
			b.Fatalf("nothing pushed: %q", r.lastComment(1))
		}
		b.StartTimer()
	}
}
