package mattermost

import (
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/bots/command"
)

// autocomplete is the tree Mattermost's client suggests from as people
// type: one subcommand per registered command, its positional arguments,
// then its flags as named arguments, with static lists where the values
// are known.
func autocomplete(r *command.Registry[cloudRun], trigger string) *model.AutocompleteData {
	root := model.NewAutocompleteData(trigger, autocompleteHint(r), autocompleteDesc(r))
	for _, s := range r.Specs() {
		sub := model.NewAutocompleteData(s.Name, r.ArgsSynopsis(s), s.Summary)
		for _, a := range s.Args {
			switch {
			case a.Kind == command.Subcommand:
				var items []model.AutocompleteListItem
				for _, t := range r.Specs() {
					items = append(items, model.AutocompleteListItem{Item: t.Name, HelpText: t.Summary})
				}
				sub.AddStaticListArgument(a.Help, !a.Optional, items)
			case a.Optional:
				// Mattermost refuses optional positional text arguments;
				// usage still shows it.
			default:
				sub.AddTextArgument(a.Help, a.Name, a.Pattern)
			}
		}
		for _, f := range s.Flags {
			switch {
			case len(f.Values) > 0:
				items := make([]model.AutocompleteListItem, len(f.Values))
				for i, v := range f.Values {
					items[i] = model.AutocompleteListItem{Item: v}
				}
				sub.AddNamedStaticListArgument(f.Name, f.Help, false, items)
			case f.Kind == command.Bool:
				sub.AddNamedTextArgument(f.Name, f.Help+" (takes no value)", "", "", false)
			default:
				sub.AddNamedTextArgument(f.Name, f.Help, f.Placeholder(), "", false)
			}
		}
		root.AddCommand(sub)
	}
	return root
}

// autocompleteHint is the hint after the trigger: [create|list|...].
func autocompleteHint(r *command.Registry[cloudRun]) string {
	return "[" + strings.ReplaceAll(r.Names(), ", ", "|") + "]"
}

// autocompleteDesc describes the command in the list of slash commands.
func autocompleteDesc(r *command.Registry[cloudRun]) string {
	return "Test environments: " + r.Names()
}
