package command

import (
	"fmt"
	"slices"
	"strings"
)

// maxListed is how many flags a synopsis spells out; more read as [flags].
const maxListed = 2

// ArgsSynopsis is what follows the command's name in its synopsis:
// "NAME DURATION", "NAME [flags]".
func (r *Registry[R]) ArgsSynopsis(s *Spec[R]) string {
	return strings.TrimPrefix(r.Synopsis(s), r.title(s)+" ")
}

// Synopsis is a command's one-line usage: "/env extend DURATION",
// "/cloud create NAME [flags]".
func (r *Registry[R]) Synopsis(s *Spec[R]) string {
	parts := []string{r.title(s)}
	for _, a := range s.Args {
		switch {
		case a.Variadic && a.Optional:
			parts = append(parts, "["+a.Name+"...]")
		case a.Variadic:
			parts = append(parts, a.Name, "["+a.Name+"...]")
		case a.Optional:
			parts = append(parts, "["+a.Name+"]")
		default:
			parts = append(parts, a.Name)
		}
	}
	if len(s.Flags) > maxListed {
		return strings.Join(append(parts, "[flags]"), " ")
	}
	for _, f := range s.Flags {
		parts = append(parts, flagSynopsis(f))
	}
	return strings.Join(parts, " ")
}

// Placeholder names the flag's value in usage: SIZE, KEY=VALUE, VALUE.
func (f Flag) Placeholder() string { return f.value() }

func flagSynopsis(f Flag) string {
	switch f.Kind {
	case Bool:
		return "[--" + f.Name + "]"
	case List, Repeated:
		return "[--" + f.Name + " " + f.value() + "]..."
	}
	return "[--" + f.Name + " " + f.value() + "]"
}

// flagUsage is a flag as usage lists it: "--size SIZE", "--test-data".
func flagUsage(f Flag) string {
	switch f.Kind {
	case Bool:
		return "--" + f.Name
	case List:
		return "--" + f.Name + " " + f.value() + ",..."
	}
	return "--" + f.Name + " " + f.value()
}

// flagDetails says what a flag accepts beyond its help text.
func flagDetails(f Flag) string {
	var d []string
	if len(f.Values) > 0 {
		d = append(d, "one of "+strings.Join(f.Values, ", "))
	}
	switch f.Kind {
	case List:
		d = append(d, "comma-separated, repeatable")
	case Repeated:
		d = append(d, "repeatable")
	}
	if f.Default != "" {
		d = append(d, "default "+f.Default)
	}
	return strings.Join(d, "; ")
}

// Usage is the help of one command, in Markdown; the overview for a name
// the registry does not know.
func (r *Registry[R]) Usage(name string) string {
	s, ok := r.Lookup(name)
	if !ok {
		return r.Overview()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`: %s.", r.Synopsis(s), s.Summary)
	for _, a := range s.Args {
		if a.Help != "" {
			fmt.Fprintf(&b, "\n- `%s`: %s", a.Name, a.Help)
		}
	}
	for _, f := range s.Flags {
		fmt.Fprintf(&b, "\n- `%s`: %s", flagUsage(f), f.Help)
		if d := flagDetails(f); d != "" {
			fmt.Fprintf(&b, " (%s)", d)
		}
	}
	if len(s.Aliases) > 0 {
		prefix := strings.TrimSpace(r.trigger + " ")
		if prefix != "" {
			prefix += " "
		}
		fmt.Fprintf(&b, "\n\nAlso `%s%s`.", prefix, strings.Join(s.Aliases, "`, `"+prefix))
	}
	if s.Permission != "" {
		fmt.Fprintf(&b, "\n\nWho may run it: %s.", s.Permission)
	}
	return b.String()
}

// Overview lists every command, in Markdown.
func (r *Registry[R]) Overview() string {
	var b strings.Builder
	b.WriteString("Subcommands:")
	for _, s := range r.specs {
		fmt.Fprintf(&b, "\n- `%s`: %s", r.Synopsis(s), s.Summary)
	}
	if h, ok := r.byName[r.opts.Help]; ok {
		fmt.Fprintf(&b, "\n\nRun `%s SUBCOMMAND` for a subcommand's arguments and flags.", r.title(h))
	}
	if r.opts.Footer != "" {
		b.WriteString(" " + r.opts.Footer)
	}
	return b.String()
}

// CommandTable is the docs' table of commands, in Markdown.
func (r *Registry[R]) CommandTable() string {
	var b strings.Builder
	b.WriteString("| command | who may run it | what it does |\n| --- | --- | --- |\n")
	for _, s := range r.specs {
		name := "`" + r.Synopsis(s) + "`"
		for _, a := range s.Aliases {
			name += " (also `" + a + "`)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, s.Permission, s.Summary)
	}
	return b.String()
}

// FlagTable is the docs' table of flags, in Markdown: one row per flag,
// naming the commands that take it.
func (r *Registry[R]) FlagTable() string {
	type row struct {
		flag     Flag
		commands []string
	}
	var rows []*row
	for _, s := range r.specs {
	flags:
		for _, f := range s.Flags {
			for _, w := range rows {
				if sameFlag(w.flag, f) {
					w.commands = append(w.commands, s.Name)
					continue flags
				}
			}
			rows = append(rows, &row{flag: f, commands: []string{s.Name}})
		}
	}
	var b strings.Builder
	b.WriteString("| flag | of | means | accepts |\n| --- | --- | --- | --- |\n")
	for _, w := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", flagUsage(w.flag), strings.Join(w.commands, ", "), w.flag.Help, flagDetails(w.flag))
	}
	return b.String()
}

func sameFlag(a, b Flag) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.Value == b.Value && a.Default == b.Default &&
		a.Help == b.Help && slices.Equal(a.Values, b.Values)
}
