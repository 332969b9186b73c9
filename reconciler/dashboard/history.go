package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/envwick/envwick/reconciler"
)

// history is what the status branch recorded over the last days: each
// status commit, newest first, with the states it changed. The fleet chart
// and an environment's status history are read from it. It is extended
// from the new head down to the head it was built at, so a pass adds one
// commit's worth of work, and trimmed to the window, so memory stays
// bounded by the window and MaxHistoryCommits.
type history struct {
	head    string
	commits []statusCommit
	// truncated: MaxHistoryCommits was reached before the window's start.
	truncated bool
}

type statusCommit struct {
	hash    string
	when    time.Time
	changes []statusChange
}

// statusChange is one status file a commit changed: the state it recorded
// before and after ("" when absent) and the file after.
type statusChange struct {
	name     string
	from, to string
	blob     string
}

// windowStart is the oldest time the history keeps commits for: the start
// of the first day the chart shows.
func (d *Dashboard) windowStart(now time.Time) time.Time {
	day := now.UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -(d.days - 1))
}

// history returns the status history at head, the status branch head of f.
func (d *Dashboard) history(ctx context.Context, head string) (*history, error) {
	d.histMu.Lock()
	defer d.histMu.Unlock()
	if d.hist != nil && d.hist.head == head {
		return d.hist, nil
	}
	start := d.windowStart(d.now())
	var prev *history
	if d.hist != nil {
		prev = d.hist
	}
	h := &history{head: head}
	var fresh []statusCommit
	found := false
	for c := head; c != ""; {
		if prev != nil && c == prev.head {
			found = true
			break
		}
		if len(fresh) >= d.maxCommits {
			h.truncated = true
			break
		}
		info, err := d.repo.CommitInfo(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("reading status history: %w", err)
		}
		if info.Committed.Before(start) {
			break
		}
		parent := ""
		if len(info.Parents) > 0 {
			parent = info.Parents[0]
		}
		diff, err := d.repo.Diff(ctx, parent, c)
		if err != nil {
			return nil, fmt.Errorf("reading status history: %w", err)
		}
		sc := statusCommit{hash: c, when: info.Committed}
		for _, ch := range diff {
			name, ok := reconciler.StatusName(ch.Path)
			if !ok {
				continue
			}
			sc.changes = append(sc.changes, statusChange{name: name, from: d.blobState(ctx, ch.From), to: d.blobState(ctx, ch.To), blob: ch.To})
		}
		fresh = append(fresh, sc)
		c = parent
	}
	h.commits = fresh
	if found {
		h.truncated = prev.truncated
		h.commits = append(h.commits, prev.commits...)
		if len(h.commits) > d.maxCommits {
			h.commits, h.truncated = h.commits[:d.maxCommits], true
		}
	}
	for len(h.commits) > 0 && h.commits[len(h.commits)-1].when.Before(start) {
		h.commits = h.commits[:len(h.commits)-1]
	}
	d.hist = h
	return h, nil
}

// blobState is the state a status file records, cached by blob ("" for no
// file).
func (d *Dashboard) blobState(ctx context.Context, blob string) string {
	if blob == "" {
		return ""
	}
	if v, ok := d.stateCache.Get(blob); ok {
		return v.(string)
	}
	state := StateUnknown
	if st := d.status(ctx, blob); st != nil {
		state = StatusState(st)
	}
	d.stateCache.Add(blob, state)
	return state
}

// Day is the fleet's count of environments by state at the end of one day
// (now, for today).
type Day struct {
	Date   time.Time      `json:"date"`
	Counts map[string]int `json:"counts"`
}

// daily rolls the fleet back from its states at the head, one day at a
// time: undoing every commit made after a day's end gives that day's
// states.
func (h *history) daily(head map[string]string, now time.Time, days int) []Day {
	state := make(map[string]string, len(head))
	counts := map[string]int{}
	for name, s := range head {
		state[name] = s
		counts[s]++
	}
	out := make([]Day, days)
	today := now.UTC().Truncate(24 * time.Hour)
	i := 0
	for k := range days {
		day := today.AddDate(0, 0, -k)
		end := day.AddDate(0, 0, 1)
		if end.After(now) {
			end = now
		}
		for ; i < len(h.commits) && h.commits[i].when.After(end); i++ {
			for _, ch := range h.commits[i].changes {
				if ch.to != "" {
					counts[ch.to]--
				}
				if ch.from != "" {
					counts[ch.from]++
					state[ch.name] = ch.from
				} else {
					delete(state, ch.name)
				}
			}
		}
		c := make(map[string]int, len(counts))
		for s, n := range counts {
			if n > 0 {
				c[s] = n
			}
		}
		out[days-1-k] = Day{Date: day, Counts: c}
	}
	return out
}

// StatusChange is one change of an environment's recorded status.
type StatusChange struct {
	When   time.Time `json:"when"`
	Commit string    `json:"commit"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	// Reason and Message are of the Ready condition recorded then.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// InstallationState is the provisioner's state recorded then.
	InstallationState string `json:"installationState,omitempty"`
}

// statusHistory returns the status changes of one environment, newest first, at most
// limit.
func (d *Dashboard) statusHistory(ctx context.Context, h *history, name string, limit int) []StatusChange {
	var out []StatusChange
	for _, c := range h.commits {
		for _, ch := range c.changes {
			if ch.name != name {
				continue
			}
			sc := StatusChange{When: c.when.UTC(), Commit: c.hash, From: ch.from, To: ch.to}
			if st := d.status(ctx, ch.blob); st != nil {
				if rc := readyCondition(st.Status.Conditions); rc != nil {
					sc.Reason, sc.Message = rc.Reason, rc.Message
				}
				if st.Status.Installation != nil {
					sc.InstallationState = st.Status.Installation.State
				}
			}
			out = append(out, sc)
			if len(out) == limit {
				return out
			}
		}
	}
	return out
}
