package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bannerCommand is a command dev's banner prints, and the folder it says
// to run it from ("" for any folder).
type bannerCommand struct{ dir, line string }

// parseBanner reads the commands of dev's banner: lines starting "  $ ",
// run from the folder named by the paragraph they are in ("In DIR: ...").
func parseBanner(banner string) []bannerCommand {
	var out []bannerCommand
	dir := ""
	for _, l := range strings.Split(banner, "\n") {
		switch {
		case strings.HasPrefix(l, "In ") && strings.Contains(l, ":"):
			dir = strings.TrimPrefix(l[:strings.Index(l, ":")], "In ")
		case strings.HasPrefix(l, "Try next") && strings.Contains(l, "from any folder"):
			dir = ""
		case strings.HasPrefix(l, "  $ "):
			out = append(out, bannerCommand{dir: dir, line: strings.TrimPrefix(l, "  $ ")})
		}
	}
	return out
}

// Every command dev prints works exactly as printed, from the folder it
// says, and does what the banner promises: the bots answer with nothing
// configured, a push of a new file reaches the reconciler within seconds,
// and nothing generated is printed.
func TestDevBannerCommandsWork(t *testing.T) {
	exe := buildEnvwick(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, exe, t.TempDir(), "--data-dir", dataDir, "--interval", "1h")
	for _, want := range []string{"GitHub bot", "Mattermost bot", "dashboard", "/webhooks/github-bot", "/mattermost/command"} {
		if !strings.Contains(d.banner, want) {
			t.Errorf("the banner does not list %q:\n%s", want, d.banner)
		}
	}
	cmds := parseBanner(d.banner)
	if len(cmds) < 8 {
		t.Fatalf("found %d commands in the banner:\n%s", len(cmds), d.banner)
	}
	anyFolder := t.TempDir()
	// What each command must show; a command not listed must exit 0.
	expect := []struct {
		prefix string
		codes  []int
		output string
	}{
		{"try label", nil, "[github acme/app#12 comment] **Test server `app-pr-12`** is being created"},
		{"try cloud", nil, "Creating **conf42**"},
		{"status", nil, "sales-demo"},
		{"curl", nil, "envwick_environments"},
		{"plan --dir", []int{0, 2}, "new-env"},
		{"git fetch", nil, "kind: EnvironmentStatus"},
	}
	var outputs []string
	for _, c := range cmds {
		dir := c.dir
		if dir == "" {
			dir = anyFolder
		} else if c.dir == filepath.Join(dataDir, "work") && !strings.HasPrefix(c.line, "git fetch") {
			// The edit the banner asks for: a new file, which a bare
			// 'git commit -a' would leave behind.
			if err := os.WriteFile(filepath.Join(dir, "environments", "new-env.yaml"), []byte(
				"apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: new-env\nspec:\n  owner:\n    github: alice\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, code := shell(t, dir, c.line)
		outputs = append(outputs, out)
		codes, want := []int{0}, ""
		for _, e := range expect {
			if strings.Contains(c.line, " "+e.prefix) || strings.HasPrefix(c.line, e.prefix) {
				if e.codes != nil {
					codes = e.codes
				}
				want = e.output
			}
		}
		ok := false
		for _, cd := range codes {
			ok = ok || cd == code
		}
		if !ok || !strings.Contains(out, want) {
			t.Errorf("in %s: %s\nexit %d (want %v), want output with %q:\n%s", dir, c.line, code, codes, want, out)
		}
	}
	// The pushed file started a pass within seconds (periodic passes are
	// an hour apart here), and the status branch shows it.
	work := filepath.Join(dataDir, "work")
	deadline := time.Now().Add(8 * time.Second)
	for {
		out, code := shell(t, work, "git fetch -q && git show origin/envwick/status:status/new-env.yaml")
		if code == 0 && strings.Contains(out, "name: new-env") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status for the pushed new-env after 8 s:\n%s\n%s", out, d.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The chat bot's direct message about conf42 is on the console.
	d.waitConsole(t, "[mattermost @alice DM] :white_check_mark: **conf42** is ready", time.Minute)
	checkNoSecretsNorErrors(t, d, secretsOf(t, dataDir), outputs...)
}
