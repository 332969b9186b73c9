// Package command is the command registry both bots are built on: each
// subcommand of /cloud (Mattermost) and /env (GitHub) is a Spec with its
// name, arguments, flags (type, allowed values, default), permission, help
// and run function. The registry parses a command line against the specs
// and generates what people read about the commands: the help replies, the
// docs' command tables, and (in bots/mattermost) the autocomplete tree.
// Because all of these come from one value, they cannot drift apart.
//
// Parsing is pure: it knows nothing about who runs a command or what exists;
// the bots check those. Every error Parse returns is an *Error whose text is
// meant to be shown to the person as it is.
package command

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/envwick/envwick/envs"
)

// Kind is how an argument's or a flag's value is read.
type Kind int

const (
	// String is one value: --size miniHA or --size=miniHA.
	String Kind = iota
	// Bool takes no value: --test-data (or --test-data=false).
	Bool
	// List is comma-separated and repeatable: --env A=1,B=2 --env C=3.
	List
	// Repeated is repeatable, each value whole: --env A=1 --env B=x,y.
	Repeated
	// Duration is an envwick duration longer than zero: 36h, 3d, 1w12h.
	Duration
	// Subcommand is the name of a command of the same registry (help's
	// topic); positional arguments only.
	Subcommand
)

// Permission says who may run a command. The registry only carries it (for
// help and the docs' tables); each bot enforces the permissions it defines.
type Permission string

// Anyone may run a read-only command.
const Anyone Permission = "anyone"

// Arg is a positional argument.
type Arg struct {
	// Name is how usage shows it: NAME, DURATION.
	Name string
	Help string
	Kind Kind
	// Optional arguments may be left out; only the last ones may be.
	Optional bool
	// Variadic lets the last argument take every remaining word (read with
	// Input.Args); with Optional it may take none.
	Variadic bool
	// Normalize, optional, rewrites the value before it is checked (and
	// seen by the run function), e.g. lower-cases a name.
	Normalize func(string) string
	// Check, optional, refuses a bad value; its error is shown as it is.
	Check func(string) error
	// Pattern, optional, is a regular expression a valid value matches, for
	// clients that check as people type (Mattermost's autocomplete).
	Pattern string
}

// Flag is a named option: --name value.
type Flag struct {
	Name string
	Kind Kind
	// Value names the value in usage: SIZE, KEY=VALUE. Default "VALUE".
	Value string
	// Values are the allowed values, for help and autocomplete. Without
	// Check, any other value is refused.
	Values []string
	// Default is the value a run function sees when the flag is not given
	// (String and Duration flags).
	Default string
	Help    string
	// Check, optional, refuses a bad value (each item of a List or
	// Repeated flag); its error is shown as it is. It decides alone when
	// set, so it may accept values beyond Values (provisionerXL-N sizes).
	Check func(string) error
}

func (f Flag) value() string {
	if f.Value != "" {
		return f.Value
	}
	return "VALUE"
}

// Spec is one subcommand. R is the bot's run function type.
type Spec[R any] struct {
	Name    string
	Aliases []string
	// Summary says what the command does, in one line without a final
	// period: help, the docs' tables and autocomplete show it.
	Summary    string
	Args       []Arg
	Flags      []Flag
	Permission Permission
	// Check, optional, checks the command as a whole once every argument
	// and flag has passed its own checks (a flag that needs another).
	Check func(*Input) error
	// Verbatim stops reading flags at the first positional argument: the
	// rest, flags included, goes to the arguments as typed (a command line
	// passed on to another tool, as /cloud mmctl does).
	Verbatim bool
	Run      R
}

// Flag returns the flag named name.
func (s *Spec[R]) Flag(name string) (Flag, bool) {
	for _, f := range s.Flags {
		if f.Name == name {
			return f, true
		}
	}
	return Flag{}, false
}

// FlagNames lists the flags as --name, comma-separated.
func (s *Spec[R]) FlagNames() string {
	names := make([]string, len(s.Flags))
	for i, f := range s.Flags {
		names[i] = "--" + f.Name
	}
	return strings.Join(names, ", ")
}

// Input is a parsed command line: the values a run function reads.
type Input struct {
	// Command is the subcommand's name (an alias resolved).
	Command string
	// vals holds arguments and flags by name; Add keeps their names apart.
	vals map[string]value
	set  []string
}

// value is one argument's or flag's value, read as its kind says.
type value struct {
	s string
	b bool
	l []string
	d time.Duration
}

// Arg returns a positional argument's value ("" when left out); the first
// one of a Variadic argument.
func (in *Input) Arg(name string) string { return in.vals[name].s }

// Args returns every value of a Variadic argument, in the order given.
func (in *Input) Args(name string) []string { return slices.Clone(in.vals[name].l) }

// Duration returns a Duration argument's or flag's value.
func (in *Input) Duration(name string) time.Duration { return in.vals[name].d }

// String returns a String flag's value, or its default when not given.
func (in *Input) String(name string) string { return in.vals[name].s }

// Bool returns a Bool flag's value.
func (in *Input) Bool(name string) bool { return in.vals[name].b }

// List returns a List or Repeated flag's values, in the order given.
func (in *Input) List(name string) []string { return in.vals[name].l }

// Given reports whether the flag was on the command line.
func (in *Input) Given(name string) bool { return slices.Contains(in.set, name) }

// Set lists the flags on the command line, in the spec's order.
func (in *Input) Set() []string { return slices.Clone(in.set) }

// Error is a problem with the command text. Its message names the problem
// and the valid choices and is safe to show to the person.
type Error struct {
	// Command is the command concerned ("/cloud create"), if known.
	Command string
	// Problem says what is wrong, in one sentence.
	Problem string
	// Usage is the usage of the command concerned, or the overview.
	Usage string
}

func (e *Error) Error() string {
	s := e.Problem
	if e.Command != "" {
		s = "`" + e.Command + "`: " + s
	}
	if e.Usage != "" {
		s += "\n\n" + e.Usage
	}
	return s
}

// CheckDuration reads an envwick duration and refuses one that is not
// longer than zero.
func CheckDuration(v string) (time.Duration, error) {
	d, err := envs.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("the duration must be longer than zero, e.g. 2d or 36h")
	}
	return d, nil
}

// SizeFlag is the --size flag of envwick's installation sizes.
func SizeFlag(help string) Flag {
	return Flag{Name: "size", Value: "SIZE", Values: envs.Sizes(), Check: CheckSize, Help: help}
}

// CheckSize refuses what is not an installation size.
func CheckSize(v string) error {
	if envs.ValidSize(v) {
		return nil
	}
	return fmt.Errorf("invalid size %q; valid sizes: %s (or provisionerXL-N)", v, strings.Join(envs.Sizes(), ", "))
}

// OneOf is the check of a flag whose Values are all it accepts.
func OneOf(what string, values []string) func(string) error {
	return func(v string) error {
		if slices.Contains(values, v) {
			return nil
		}
		return fmt.Errorf("invalid %s %q; valid values: %s", what, v, strings.Join(values, ", "))
	}
}

// Matching refuses values that do not match re (and long ones).
func Matching(what string, re *regexp.Regexp) func(string) error {
	return func(v string) error {
		if len(v) <= 255 && re.MatchString(v) {
			return nil
		}
		return fmt.Errorf("invalid %s %q", what, v)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// sentence makes an error message a sentence: capitalised, with a period.
func sentence(msg string) string {
	msg = upperFirst(msg)
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
