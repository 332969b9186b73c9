package githubbot

import (
	"embed"
	"fmt"
)

// examples are real webhook payloads (@octokit/webhooks-examples, MIT
// licence: testdata/octokit/LICENSE), shipped so that 'envwick try' sends
// what GitHub sends.
//
//go:embed testdata/octokit/pull_request.labeled.0.json testdata/octokit/pull_request.synchronize.0.json testdata/octokit/pull_request.closed.0.json testdata/octokit/issue_comment.created.0.json testdata/octokit/LICENSE
var examples embed.FS

// ExamplePayload returns the shipped example of an event and action, such
// as ("pull_request", "labeled"): a payload as GitHub sends it, for one
// repository and pull request of its own.
func ExamplePayload(event, action string) ([]byte, error) {
	b, err := examples.ReadFile(fmt.Sprintf("testdata/octokit/%s.%s.0.json", event, action))
	if err != nil {
		return nil, fmt.Errorf("no example %s %s payload: %w", event, action, err)
	}
	return b, nil
}
