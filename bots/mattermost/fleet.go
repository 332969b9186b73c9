package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// fleetLedger remembers the fleet posts made, by key, so that each event
// is posted once: in a small JSON file when a path is given, so a restart
// (or a transition heard again) repeats nothing.
type fleetLedger struct {
	path string

	mu   sync.Mutex
	seen map[string]time.Time
}

// ledgerKeep is how long a key is remembered; events are not heard again
// after that long.
const ledgerKeep = 60 * 24 * time.Hour

func openFleetLedger(path string) (*fleetLedger, error) {
	l := &fleetLedger{path: path, seen: map[string]time.Time{}}
	if path == "" {
		return l, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the fleet channel ledger: %w", err)
	}
	if err := json.Unmarshal(data, &l.seen); err != nil {
		return nil, fmt.Errorf("reading the fleet channel ledger %s: %w", path, err)
	}
	return l, nil
}

// claim records key and reports whether it is new. A ledger that cannot be
// written still answers (in memory), and says why.
func (l *fleetLedger) claim(key string, now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[key]; ok {
		return false, nil
	}
	l.seen[key] = now
	maps.DeleteFunc(l.seen, func(_ string, at time.Time) bool { return now.Sub(at) > ledgerKeep })
	if l.path == "" {
		return true, nil
	}
	data, err := json.Marshal(l.seen)
	if err == nil {
		tmp := l.path + ".tmp"
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, l.path)
		}
	}
	if err != nil {
		return true, fmt.Errorf("saving the fleet channel ledger %s: %w", filepath.Base(l.path), err)
	}
	return true, nil
}

// postFleet posts msg to every fleet channel, once per key.
func (b *Bot) postFleet(ctx context.Context, key, msg string) error {
	if len(b.cfg.FleetChannels) == 0 {
		return nil
	}
	fresh, err := b.fleet.claim(key, b.now())
	if err != nil {
		b.log.WarnContext(ctx, "fleet post not remembered: it may be repeated after a restart", "key", key, "error", err)
	}
	if !fresh {
		return nil
	}
	var errs []error
	for _, ch := range b.cfg.FleetChannels {
		errs = append(errs, b.chat.Post(ctx, ch, &model.Post{Message: msg}))
	}
	return errors.Join(errs...)
}

// notifyFleet tells the fleet channels about failures and deletions.
func (b *Bot) notifyFleet(ctx context.Context, t reconciler.Transition) error {
	id := t.InstallationID()
	who := ownerName(&envs.Environment{Spec: envs.EnvironmentSpec{Owner: t.Owner()}})
	switch t.Kind {
	case reconciler.TransitionFailed:
		why := firstNonEmpty(t.Message, t.Reason, "no reason given")
		msg := fmt.Sprintf(":warning: **%s** (owner %s) failed: %s%s", t.Name, who, why, b.logsSuffix(t))
		return b.postFleet(ctx, strings.Join([]string{"failed", t.Name, id, why}, "/"), msg)
	case reconciler.TransitionDeleted:
		return b.postFleet(ctx, strings.Join([]string{"deleted", t.Name, id, t.Commit}, "/"),
			fmt.Sprintf(":wastebasket: **%s** (owner %s) is deleted.", t.Name, who))
	}
	return nil
}

// logsSuffix is " Logs: <link>" when a logs URL template is configured.
func (b *Bot) logsSuffix(t reconciler.Transition) string {
	if l := t.LogsLink(b.cfg.LogsURL); l != "" {
		return "\nLogs: " + l
	}
	return ""
}

// RunReports posts the daily fleet report at the configured hour until ctx
// ends; each day's report is posted once, also across restarts. With
// several replicas only the one for which leading says so posts (nil: this
// one always does): the ledger that keeps a report from repeating is each
// replica's own.
func (b *Bot) RunReports(ctx context.Context, leading func() bool) {
	if len(b.cfg.FleetChannels) == 0 {
		return
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if leading == nil || leading() {
			if err := b.reportIfDue(ctx); err != nil {
				b.log.ErrorContext(ctx, "daily fleet report not posted", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reportIfDue posts today's report once its hour has come.
func (b *Bot) reportIfDue(ctx context.Context) error {
	now := b.now().UTC()
	if now.Hour() < b.cfg.ReportHour {
		return nil
	}
	msg, err := b.report(ctx, now)
	if err != nil {
		return err
	}
	return b.postFleet(ctx, "report/"+now.Format(time.DateOnly), msg)
}

// idleAfter is how long without use makes a running environment idle in
// the report.
const idleAfter = 24 * time.Hour

// report is the daily fleet report: environments by state and by owner,
// those expiring within a day, and those idle.
func (b *Bot) report(ctx context.Context, now time.Time) (string, error) {
	all, err := b.envs.Environments(ctx)
	if err != nil {
		return "", fmt.Errorf("reading environments: %w", err)
	}
	a := action{bot: b}
	byState, byOwner := map[string]int{}, map[string]int{}
	var expiring, idle []string
	for _, e := range all {
		st, _ := a.status(e.Name)
		byState[stateOf(e, st)]++
		byOwner[ownerName(e)]++
		if st.DeleteAt != nil && st.DeleteAt.After(now) && st.DeleteAt.Sub(now) <= 24*time.Hour {
			expiring = append(expiring, fmt.Sprintf("%s (%s, %s)", e.Name, ownerName(e), day(st.DeleteAt.Time)))
		}
		if e.Spec.State != envs.StateHibernated && st.LastActivity != nil && now.Sub(st.LastActivity.Time) >= idleAfter {
			idle = append(idle, fmt.Sprintf("%s (%s, unused since %s)", e.Name, ownerName(e), day(st.LastActivity.Time)))
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, "#### Test environments on %s: %d\n", now.Format(time.DateOnly), len(all))
	counts := func(title string, m map[string]int) {
		fmt.Fprintf(&s, "\n| %s | Environments |\n| --- | --- |\n", title)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&s, "| %s | %d |\n", k, m[k])
		}
	}
	if len(all) > 0 {
		counts("State", byState)
		counts("Owner", byOwner)
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			fmt.Fprintf(&s, "\n%s: none.\n", title)
			return
		}
		slices.Sort(items)
		fmt.Fprintf(&s, "\n%s:\n", title)
		for _, it := range items {
			s.WriteString("- " + it + "\n")
		}
	}
	list("Expiring in the next day", expiring)
	list("Idle for a day or more", idle)
	return s.String(), nil
}
