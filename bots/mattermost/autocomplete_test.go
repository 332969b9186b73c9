package mattermost

import (
	"slices"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/envs"
)

func TestAutocompleteFollowsTheRegistry(t *testing.T) {
	r := newCommands()
	tree := autocomplete(r, "cloud")
	if err := tree.IsValid(); err != nil {
		t.Fatalf("invalid tree: %v", err)
	}
	subs := map[string]*model.AutocompleteData{}
	for _, s := range tree.SubCommands {
		subs[s.Trigger] = s
	}
	for _, s := range r.Specs() {
		sub := subs[s.Name]
		if sub == nil {
			t.Fatalf("no subcommand %s", s.Name)
		}
		if sub.HelpText != s.Summary {
			t.Errorf("%s: help %q", s.Name, sub.HelpText)
		}
		named := 0
		for _, a := range sub.Arguments {
			if a.Name != "" {
				named++
				if _, ok := s.Flag(a.Name); !ok {
					t.Errorf("%s: argument --%s is no flag", s.Name, a.Name)
				}
			}
		}
		if named != len(s.Flags) {
			t.Errorf("%s: %d named arguments for %d flags", s.Name, named, len(s.Flags))
		}
	}
	if len(subs) != len(r.Specs()) {
		t.Errorf("%d subcommands for %d commands", len(subs), len(r.Specs()))
	}

	arg := func(cmd, name string) *model.AutocompleteArg {
		for _, a := range subs[cmd].Arguments {
			if a.Name == name {
				return a
			}
		}
		t.Fatalf("%s has no argument %q", cmd, name)
		return nil
	}
	items := func(a *model.AutocompleteArg) []string {
		l, ok := a.Data.(*model.AutocompleteStaticListArg)
		if !ok || a.Type != model.AutocompleteArgTypeStaticList {
			t.Fatalf("argument %q is %s, not a static list", a.Name, a.Type)
		}
		var out []string
		for _, i := range l.PossibleArguments {
			out = append(out, i.Item)
		}
		return out
	}
	for _, tt := range []struct {
		cmd, flag string
		want      []string
	}{
		{"create", "license", envs.Licenses()},
		{"create", "affinity", envs.Affinities()},
		{"create", "database", envs.Databases()},
		{"create", "filestore", envs.Filestores()},
		{"update", "size", envs.Sizes()},
		{"help", "", []string{"create", "list", "info", "status", "update", "upgrade", "restart", "retry", "hibernate", "wake-up", "delete", "extend", "keep", "unkeep", "share", "unshare", "deletion-lock", "deletion-unlock", "mmctl", "help"}},
	} {
		if got := items(arg(tt.cmd, tt.flag)); !slices.Equal(got, tt.want) {
			t.Errorf("%s --%s: %v, want %v", tt.cmd, tt.flag, got, tt.want)
		}
	}
	name := subs["create"].Arguments[0]
	if name.Name != "" || !name.Required || name.Data.(*model.AutocompleteTextArg).Hint != "NAME" {
		t.Errorf("create's first argument %+v", name)
	}
	if ext := subs["extend"]; len(ext.Arguments) != 2 || ext.Hint != "NAME DURATION" {
		t.Errorf("extend %+v", ext)
	}
}
