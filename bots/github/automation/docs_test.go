package automation

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsCommandTable keeps the command table of docs/pr-automation.md
// equal to the commands the automation accepts.
func TestDocsCommandTable(t *testing.T) {
	data, err := os.ReadFile("../../../docs/pr-automation.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(/[^`]+)` \\| ([^|]+) \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented = append(documented, m[1])
	}
	r := newRig(t, Repository{})
	var want []string
	for _, c := range r.auto.commands {
		want = append(want, strings.TrimSpace(c.name+" "+c.args))
	}
	if !slices.Equal(documented, want) {
		t.Fatalf("docs/pr-automation.md lists %q; the commands are %q", documented, want)
	}
}
