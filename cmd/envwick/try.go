package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"
	"github.com/spf13/cobra"

	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/bots/github/localgithub"
	"github.com/envwick/envwick/bots/mattermost"
)

// tryOptions are what every 'envwick try' command shares.
type tryOptions struct {
	DataDir string
	Repo    string
	PR      int
	Label   string
	User    string
	Wait    time.Duration
}

func newTryCmd() *cobra.Command {
	o := &tryOptions{}
	cmd := &cobra.Command{
		Use:   "try",
		Short: "Send real-shaped events to a running 'envwick dev' and print the replies",
		Long: `try signs and sends what GitHub and Mattermost would send to the bots of a
running 'envwick dev' (found through its data dir, with the secrets it
generated there), and prints the replies: for a pull request event, what the
GitHub bot posts on the pull request; for /cloud, the command's answer.
Direct messages and later comments appear on the dev console too.`,
		Args: cobra.NoArgs,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.DataDir, "data-dir", envString("data-dir", ".envwick"), "data dir of the running 'envwick dev' ["+envName("data-dir")+"]")
	f.StringVar(&o.Repo, "repo", "acme/app", "repository of the pull request (owner/name)")
	f.IntVar(&o.PR, "pr", 12, "pull request number")
	f.StringVar(&o.Label, "label", githubbot.LabelCloud, "label on the pull request")
	f.StringVar(&o.User, "user", "alice", "who acts: GitHub login or Mattermost username")
	durationVar(f, &o.Wait, "wait", 15*time.Second, "longest wait for the bot's posts after an event")

	pr := func(use, short, action string, edit func(p map[string]any, o *tryOptions) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return tryPullRequest(cmd.Context(), o, cmd.OutOrStdout(), "pull_request", action, edit)
			},
		}
	}
	var sha, body string
	push := pr("push", "A push to the pull request (a new head commit)", "synchronize", func(p map[string]any, o *tryOptions) error {
		head := sha
		if head == "" {
			head = randomSHA()
		}
		set(p, "before", localgithub.FakeSHA(o.Repo, o.PR))
		set(p, "after", head)
		set(p, "pull_request.head.sha", head)
		return nil
	})
	push.Flags().StringVar(&sha, "sha", "", "the new head commit (default: a random one)")
	comment := &cobra.Command{
		Use: "comment", Short: "A comment on the pull request, such as a /env command", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return tryPullRequest(cmd.Context(), o, cmd.OutOrStdout(), "issue_comment", "created", func(p map[string]any, o *tryOptions) error {
				set(p, "comment.body", body)
				set(p, "comment.user.login", o.User)
				return nil
			})
		},
	}
	comment.Flags().StringVar(&body, "body", "/env status", "the comment")
	cmd.AddCommand(
		pr("label", "Label the pull request (--label)", "labeled", nil),
		push,
		pr("close", "Close the pull request", "closed", func(p map[string]any, _ *tryOptions) error {
			set(p, "pull_request.state", "closed")
			return nil
		}),
		comment,
		newTryCloudCmd(o),
	)
	return cmd
}

func newTryCloudCmd(o *tryOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cloud [--user NAME] COMMAND...",
		Short: "Run a /cloud command as a Mattermost user, e.g. 'try cloud --user alice create conf42'",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return tryCloud(cmd.Context(), o, cmd.OutOrStdout(), strings.Join(args, " "))
		},
	}
	// Everything after the first word is the command's, flags included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// requestTimeout bounds a request to the running dev.
const requestTimeout = 30 * time.Second

// devTarget is a running dev: its URL and a generated secret.
func devTarget(dataDir, secretFile string) (string, string, error) {
	dir := localDir(dataDir)
	b, err := os.ReadFile(filepath.Join(dir, devURLFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("no running 'envwick dev' with data dir %s: start it first (make run), or pass its --data-dir", dataDir)
	}
	if err != nil {
		return "", "", err
	}
	s, err := readSecretFile(filepath.Join(dir, secretFile))
	if err != nil {
		return "", "", fmt.Errorf("reading the secret dev generated: %w", err)
	}
	return strings.TrimSpace(string(b)), s, nil
}

// tryPullRequest sends one pull request event, built from the shipped
// example, and prints the posts it brings about.
func tryPullRequest(ctx context.Context, o *tryOptions, out io.Writer, event, action string, edit func(map[string]any, *tryOptions) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.Wait+requestTimeout)
	defer cancel()
	base, secret, err := devTarget(o.DataDir, githubSecretFile)
	if err != nil {
		return err
	}
	payload, err := pullRequestPayload(o, event, action, edit)
	if err != nil {
		return err
	}
	after, err := lastPost(ctx, base)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+githubbot.WebhookPath, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(gh.EventTypeHeader, event)
	req.Header.Set(gh.DeliveryIDHeader, randomHex(16))
	req.Header.Set(gh.SHA256SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	reply, err := do(req)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Sent %s %s for %s#%d: %s\n", event, action, o.Repo, o.PR, reply)
	return waitPosts(ctx, o, out, base, after)
}

// pullRequestPayload is the shipped example made about o's repository,
// pull request, label and user.
func pullRequestPayload(o *tryOptions, event, action string, edit func(map[string]any, *tryOptions) error) ([]byte, error) {
	owner, name, ok := strings.Cut(o.Repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("--repo %q: want owner/name", o.Repo)
	}
	if o.PR <= 0 {
		return nil, fmt.Errorf("--pr %d: want a pull request number", o.PR)
	}
	raw, err := githubbot.ExamplePayload(event, action)
	if err != nil {
		return nil, err
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	htmlURL := fmt.Sprintf("https://github.com/%s/pull/%d", o.Repo, o.PR)
	repo := map[string]any{"id": 1, "name": name, "full_name": o.Repo, "private": false, "default_branch": "main",
		"html_url": "https://github.com/" + o.Repo, "owner": map[string]any{"login": owner, "type": "Organization"}}
	user := map[string]any{"login": o.User, "id": 1, "type": "User"}
	labels := []any{map[string]any{"name": o.Label}}
	set(p, "repository", repo)
	set(p, "sender", user)
	delete(p, "installation") // no GitHub App here
	switch event {
	case "pull_request":
		set(p, "number", o.PR)
		set(p, "label", labels[0])
		for k, v := range map[string]any{
			"number": o.PR, "html_url": htmlURL, "state": "open", "title": "A change to try envwick with",
			"user": user, "labels": labels, "merged": false,
			"head.sha": localgithub.FakeSHA(o.Repo, o.PR), "head.ref": fmt.Sprintf("pr-%d", o.PR), "head.repo": repo,
			"base.ref": "main", "base.repo": repo,
		} {
			set(p, "pull_request."+k, v)
		}
	case "issue_comment":
		for k, v := range map[string]any{
			"number": o.PR, "html_url": htmlURL, "state": "open", "title": "A change to try envwick with",
			"user": user, "labels": labels,
			"pull_request": map[string]any{"html_url": htmlURL, "url": fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", o.Repo, o.PR)},
		} {
			set(p, "issue."+k, v)
		}
	}
	if edit != nil {
		if err := edit(p, o); err != nil {
			return nil, err
		}
	}
	return json.Marshal(p)
}

// set sets a dotted path in a JSON object, making objects on the way.
func set(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// lastPost is the sequence number of the local GitHub's newest post.
func lastPost(ctx context.Context, base string) (int, error) {
	posts, err := getPosts(ctx, base, 0)
	if err != nil || len(posts) == 0 {
		return 0, err
	}
	return posts[len(posts)-1].Seq, nil
}

func getPosts(ctx context.Context, base string, after int) ([]localgithub.Post, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+devGitHubPostsPath+"?after="+strconv.Itoa(after), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching envwick dev at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("envwick dev at %s runs no local GitHub (is a GitHub token configured?)", base)
	}
	var posts []localgithub.Post
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&posts); err != nil {
		return nil, fmt.Errorf("reading the local GitHub's posts: %w", err)
	}
	return posts, nil
}

// waitPosts prints the posts about o's pull request that follow, until
// two seconds pass without one after the first, or o.Wait runs out.
func waitPosts(ctx context.Context, o *tryOptions, out io.Writer, base string, after int) error {
	deadline := time.Now().Add(o.Wait)
	var quietSince time.Time
	prefix := o.Repo
	for time.Now().Before(deadline) {
		posts, err := getPosts(ctx, base, after)
		if err != nil {
			return err
		}
		for _, p := range posts {
			after = p.Seq
			if strings.HasPrefix(p.Where, prefix+"#"+strconv.Itoa(o.PR)) || strings.HasPrefix(p.Where, prefix+"@") {
				fmt.Fprintln(out, localgithub.Format(p))
				quietSince = time.Now()
			}
		}
		if !quietSince.IsZero() && time.Since(quietSince) > 2*time.Second {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if quietSince.IsZero() {
		fmt.Fprintf(out, "Nothing posted on %s#%d within %s (the dev console says why).\n", o.Repo, o.PR, o.Wait)
	}
	return nil
}

// tryCloud posts a /cloud command as Mattermost does: a form with the
// command's token, and prints the answer.
func tryCloud(ctx context.Context, o *tryOptions, out io.Writer, text string) error {
	// The bot answers within its reply budget (2 s), or says it is working.
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	base, token, err := devTarget(o.DataDir, mattermostTokenFile)
	if err != nil {
		return err
	}
	form := url.Values{
		"command": {"/" + mattermost.Trigger}, "text": {text},
		"user_id": {mattermostID("user", o.User)}, "user_name": {o.User},
		"channel_id": {mattermostID("channel", "town-square")}, "channel_name": {"town-square"},
		"team_id": {mattermostID("team", "dev")}, "team_domain": {"dev"},
		"trigger_id": {randomHex(13)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+mattermost.CommandPath, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Token "+token)
	reply, err := do(req)
	if err != nil {
		return err
	}
	var answer struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(reply), &answer); err != nil {
		return fmt.Errorf("reading the /cloud answer: %w", err)
	}
	fmt.Fprintf(out, "/%s %s (as @%s):\n%s\n", mattermost.Trigger, text, o.User, answer.Text)
	return nil
}

// mattermostID is a stable 26-character ID, shaped like Mattermost's,
// for a name.
func mattermostID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + ":" + name))
	const alphabet = "abcdefghijkmnopqrstuwxyz13456789"
	var b strings.Builder
	for _, c := range sum[:26] {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

// do sends a request and returns the reply body; a refusal is an error.
func do(req *http.Request) (string, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("reaching envwick dev: %w (is it running?)", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	reply := strings.TrimSpace(string(body))
	if resp.StatusCode >= 300 {
		return "", fmt.Errorf("%s answered %s: %s", req.URL.Path, resp.Status, reply)
	}
	return reply, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomSHA() string { return randomHex(20) }
