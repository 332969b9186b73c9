package mattermost

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/envwick/envwick/bots/command"
)

func statusCommand() cloudSpec {
	return cloudSpec{Name: "status", Summary: "the fleet: environments by state, and the platform's health", Permission: command.Anyone,
		Run: (*action).fleetStatus}
}

// fleetStatus counts the environments by state, as the status branch
// records them, and asks the reconciler how the platform is.
func (a *action) fleetStatus(ctx context.Context) (string, error) {
	counts := map[string]int{}
	for _, e := range a.all {
		st, _ := a.status(e.Name)
		counts[stateOf(e, st)]++
	}
	states := make([]string, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	sort.Strings(states)
	var s strings.Builder
	fmt.Fprintf(&s, "**%d environments**", len(a.all))
	if len(states) > 0 {
		s.WriteString(":\n\n| State | Environments |\n| --- | --- |\n")
		for _, st := range states {
			fmt.Fprintf(&s, "| %s | %d |\n", st, counts[st])
		}
	} else {
		s.WriteString(".\n")
	}
	s.WriteString("\nPlatform: ")
	switch {
	case a.bot.health == nil:
		s.WriteString("health not known here (the reconciler does not export it).")
	default:
		h, err := a.bot.health.PlatformHealth(ctx)
		if err != nil {
			a.bot.log.WarnContext(ctx, "reading the platform's health", "error", err)
			s.WriteString("could not be read just now.")
		} else {
			s.WriteString(h)
		}
	}
	return s.String(), nil
}
