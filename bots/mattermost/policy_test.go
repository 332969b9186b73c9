package mattermost

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/envwick/envwick/bots/commit"
)

// TestConcurrentCreatesHoldTheQuota: twelve /cloud create at once from one
// person with a quota of three, through the bot's HTTP handler as
// Mattermost posts them, give exactly three environment files; the other
// nine replies name the quota.
func TestConcurrentCreatesHoldTheQuota(t *testing.T) {
	w := newWorldWith(t, nil, func(p *commit.Policy) { p.MaxEnvironments = 3 })
	type answer struct {
		code  int
		reply string
	}
	answers := make([]answer, 12)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			code, reply := w.command(cmdToken, w.alice, fmt.Sprintf("create race%d", i))
			answers[i] = answer{code, reply}
		})
	}
	wg.Wait()

	created, refused := 0, 0
	for i, a := range answers {
		switch {
		case a.code != http.StatusOK:
			t.Errorf("create race%d: HTTP %d %s", i, a.code, a.reply)
		case strings.HasPrefix(a.reply, "Creating **race"):
			created++
		case strings.Contains(a.reply, "You already have 3 environments") && strings.Contains(a.reply, "the quota is 3 per person"):
			refused++
		default:
			t.Errorf("create race%d: reply %q", i, a.reply)
		}
	}
	files := 0
	for i := range answers {
		if e := w.env(fmt.Sprintf("race%d", i)); e != nil {
			files++
			if e.Spec.Owner.Mattermost != "alice" {
				t.Errorf("race%d owned by %+v", i, e.Spec.Owner)
			}
		}
	}
	if files != 3 || created != 3 || refused != 9 {
		t.Errorf("%d environment files, %d created and %d quota replies; want 3, 3 and 9", files, created, refused)
	}
}

// TestSizeUnitsQuota: the size unit quota counts a miniHA as two.
func TestSizeUnitsQuota(t *testing.T) {
	w := newWorldWith(t, nil, func(p *commit.Policy) { p.MaxEnvironments, p.MaxUnits = 5, 3 })
	contains(t, w.run(w.alice, "create one --size miniHA"), "Creating **one**")
	before := w.head()
	contains(t, w.run(w.alice, "create two --size miniHA"),
		"**two** would count 2 size units and your environments (one) count 2; the quota is 3 units per person")
	if w.head() != before {
		t.Fatal("a commit was made")
	}
	contains(t, w.run(w.alice, "create two"), "Creating **two**")
	contains(t, w.run(w.alice, "update two --size miniHA"), "the quota is 3 units per person")
	if e := w.env("two"); e.Spec.Installation.Size != "" {
		t.Errorf("size %q committed", e.Spec.Installation.Size)
	}
}
