package main

import (
	"testing"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/github/localgithub"
)

// try's payloads are the shipped examples made about the pull request it
// was given, and parse as GitHub's events do.
func TestTryPayloadsAreAboutTheGivenPullRequest(t *testing.T) {
	o := &tryOptions{Repo: "acme/app", PR: 7, Label: "Setup Cloud Test Server", User: "bob"}
	for _, tt := range []struct{ event, action string }{
		{"pull_request", "labeled"}, {"pull_request", "synchronize"}, {"pull_request", "closed"}, {"issue_comment", "created"},
	} {
		t.Run(tt.event+"."+tt.action, func(t *testing.T) {
			data, err := pullRequestPayload(o, tt.event, tt.action, nil)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := gh.ParseWebHook(tt.event, data)
			if err != nil {
				t.Fatal(err)
			}
			var repo *gh.Repository
			var number int
			var labels []*gh.Label
			var sender *gh.User
			switch e := ev.(type) {
			case *gh.PullRequestEvent:
				repo, number, labels, sender = e.GetRepo(), e.GetPullRequest().GetNumber(), e.GetPullRequest().Labels, e.GetSender()
				if e.GetAction() != tt.action || e.GetPullRequest().GetHead().GetSHA() != localgithub.FakeSHA("acme/app", 7) ||
					e.GetPullRequest().GetHead().GetRepo().GetFullName() != "acme/app" || e.Installation != nil {
					t.Errorf("pull request event: action %s, head %+v, installation %v", e.GetAction(), e.GetPullRequest().GetHead(), e.Installation)
				}
			case *gh.IssueCommentEvent:
				repo, number, labels, sender = e.GetRepo(), e.GetIssue().GetNumber(), e.GetIssue().Labels, e.GetSender()
				if !e.GetIssue().IsPullRequest() {
					t.Error("the comment is not on a pull request")
				}
			}
			if repo.GetFullName() != "acme/app" || repo.GetOwner().GetLogin() != "acme" || number != 7 || sender.GetLogin() != "bob" ||
				len(labels) != 1 || labels[0].GetName() != o.Label {
				t.Errorf("about %s#%d by %s with labels %v", repo.GetFullName(), number, sender.GetLogin(), labels)
			}
		})
	}
	if _, err := pullRequestPayload(&tryOptions{Repo: "acme", PR: 1}, "pull_request", "labeled", nil); err == nil {
		t.Error("a repository without an owner was accepted")
	}
}
