package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeStep is a command of the README's "Try it" story and the output
// lines it shows ("..." elides).
type readmeStep struct {
	line string
	want []string
}

// readTryIt reads the "Try it" section of the README: the commands of its
// console blocks with their output, and the lines of its text blocks,
// which the dev console shows.
func readTryIt(t *testing.T) (steps []readmeStep, console []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Try it\n")
	if !ok {
		t.Fatal(`README.md has no "## Try it" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	block := ""
	for _, l := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(l, "```") && block == "":
			block = strings.TrimPrefix(l, "```")
		case strings.HasPrefix(l, "```"):
			block = ""
		case block == "console" && strings.HasPrefix(l, "$ "):
			steps = append(steps, readmeStep{line: strings.TrimPrefix(l, "$ ")})
		case block == "console" && len(steps) > 0 && strings.TrimSpace(l) != "" && l != "...":
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, l)
		case block == "text" && strings.TrimSpace(l) != "":
			console = append(console, l)
		}
	}
	return steps, console
}

var (
	hexRun     = regexp.MustCompile(`\b[0-9a-f]{7,40}\b`)
	spaceRun   = regexp.MustCompile(`\s+`)
	statusLike = regexp.MustCompile(`^\./bin/envwick (status|plan)\b|/envwick plan\b`)
)

// normalize makes output comparable across runs: commits and spacing vary.
func normalize(s string) string {
	return strings.TrimSpace(spaceRun.ReplaceAllString(hexRun.ReplaceAllString(s, "<sha>"), " "))
}

// missing returns the wanted lines out does not show.
func missing(out string, want []string) []string {
	got := normalize(out)
	var miss []string
	for _, w := range want {
		if !strings.Contains(got, normalize(w)) {
			miss = append(miss, w)
		}
	}
	return miss
}

// The README's "Try it" story works as written: from the top of a
// checkout with make run going, each command exits as it should and shows
// the output the README shows, and the dev console shows what the README
// says it does.
func TestReadmeTryItStory(t *testing.T) {
	steps, console := readTryIt(t)
	if len(steps) < 6 || len(console) < 2 {
		t.Fatalf("the Try it section has %d commands and %d console lines", len(steps), len(console))
	}
	exe := buildEnvwick(t)
	root := filepath.Dir(filepath.Dir(exe)) // holds bin/envwick, as a checkout after make build
	d := startDev(t, "./bin/envwick", root)
	cwd := root
	pwdFile := filepath.Join(t.TempDir(), "pwd")
	var outputs []string
	for _, s := range steps {
		var out string
		var code int
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			out, code = shell(t, cwd, s.line+"\npwd > "+pwdFile)
			retry := statusLike.MatchString(s.line) && len(missing(out, s.want)) > 0
			if !retry || time.Now().After(deadline) {
				break
			}
		}
		outputs = append(outputs, out)
		okCode := code == 0 || (strings.Contains(s.line, "plan") && code == 2)
		if miss := missing(out, s.want); !okCode || len(miss) > 0 {
			t.Fatalf("in %s: %s\nexit %d; output lacks %q:\n%s", cwd, s.line, code, miss, out)
		}
		b, err := os.ReadFile(pwdFile)
		if err != nil {
			t.Fatal(err)
		}
		cwd = strings.TrimSpace(string(b))
	}
	for deadline := time.Now().Add(time.Minute); len(missing(d.console.String(), console)) > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the dev console lacks %q:\n%s", missing(d.console.String(), console), d.console.String())
		}
	}
	checkNoSecretsNorErrors(t, d, secretsOf(t, filepath.Join(root, ".envwick")), outputs...)
}
