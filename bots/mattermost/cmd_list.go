package mattermost

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/envs"
)

func listCommand() cloudSpec {
	return cloudSpec{Name: "list", Summary: "list your environments (everyone's with --all), with state and URL", Permission: command.Anyone,
		Flags: []command.Flag{{Name: "all", Kind: command.Bool, Help: "everyone's environments, not only yours"},
			{Name: "shared-installations", Kind: command.Bool, Help: "the environments others shared with the team"}},
		Run: (*action).list}
}

func (a *action) list(context.Context) (string, error) {
	return a.table(), nil
}

// table lists the environments shown, with state and URL.
func (a *action) table() string {
	shown := a.all
	title := "Your environments"
	switch {
	case a.in.Bool("all"):
		title = "All environments"
	case a.in.Bool("shared-installations"):
		title = "Shared environments"
		shown = nil
		for _, e := range a.all {
			if sh := e.Spec.Sharing; sh != nil && sh.Shared && !owns(e, a.who) {
				shown = append(shown, e)
			}
		}
	default:
		shown = ownedBy(a.all, a.who)
	}
	if len(shown) == 0 {
		switch {
		case a.in.Bool("all"):
			return "There are no environments."
		case a.in.Bool("shared-installations"):
			return "Nobody shares an environment with the team. `/cloud share NAME` shares one of yours."
		}
		return "You have no environments. Create one with `/cloud create NAME`."
	}
	shown = slices.Clone(shown)
	slices.SortFunc(shown, func(x, y *envs.Environment) int { return strings.Compare(x.Name, y.Name) })
	var s strings.Builder
	fmt.Fprintf(&s, "%s:\n\n| Name | State | URL | Owner | Version | Shared |\n| --- | --- | --- | --- | --- | --- |\n", title)
	for _, e := range shown {
		st, _ := a.status(e.Name)
		url := ""
		if st.Installation != nil {
			url = st.Installation.URL
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s |\n", e.Name, stateOf(e, st), url, ownerName(e), versionOf(e, st), sharing(e))
	}
	return s.String()
}

// versionOf is the version an environment asks for, or, when it leaves
// that to the fleet's default, the one its installation runs.
func versionOf(e *envs.Environment, st envs.EnvironmentStatus) string {
	if v := e.Spec.Installation.Version; v != "" {
		return v
	}
	if st.Installation != nil && st.Installation.Version != "" {
		return st.Installation.Version + " (default)"
	}
	return "default"
}

// countOf is "1 environment", "2 environments".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sharing says how an environment is shared, for the list.
func sharing(e *envs.Environment) string {
	switch sh := e.Spec.Sharing; {
	case sh == nil || !sh.Shared:
		return ""
	case sh.AllowUpdates:
		return "yes, with updates"
	}
	return "yes"
}
