// Package cloudcmd parses the text of a /cloud slash command into a Command.
//
// The subcommands, flag names and values are those of the Mattermost cloud
// plugin's /cloud command, so people who used it feel at home. Parsing is
// pure: it knows nothing about who runs the command or what exists; the bot
// checks those. Every error Parse returns is an *Error whose text is meant
// to be shown to the person as it is.
package cloudcmd

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/pflag"

	"github.com/envwick/envwick/envs"
)

// Verb is a /cloud subcommand.
type Verb string

// The subcommands, in the order help lists them.
const (
	Create    Verb = "create"
	List      Verb = "list"
	Info      Verb = "info"
	Update    Verb = "update"
	Hibernate Verb = "hibernate"
	WakeUp    Verb = "wake-up"
	Delete    Verb = "delete"
	Extend    Verb = "extend"
	Keep      Verb = "keep"
	Unkeep    Verb = "unkeep"
	Help      Verb = "help"
)

// Verbs returns every subcommand in help order.
func Verbs() []Verb {
	return []Verb{Create, List, Info, Update, Hibernate, WakeUp, Delete, Extend, Keep, Unkeep, Help}
}

// Mutates reports whether the subcommand changes an environment (and so
// becomes a commit).
func (v Verb) Mutates() bool {
	switch v {
	case List, Info, Help:
		return false
	}
	return true
}

// Command is one parsed /cloud command.
type Command struct {
	Verb Verb
	// Name is the environment the command is about (empty for list and help).
	Name string
	// Installation holds the values of the installation flags that were
	// given; Set names them, so update changes only those.
	Installation envs.Installation
	// Set lists the flags given on the command line, by flag name.
	Set []string
	// ClearEnv names the environment variables update removes.
	ClearEnv []string
	// All asks list for every environment, not only the person's own.
	All bool
	// Duration is how much longer extend keeps the environment.
	Duration time.Duration
	// Topic is the subcommand help was asked about, if any.
	Topic Verb
}

// Error is a problem with the command text. Its message names the problem
// and the valid choices and is safe to show to the person.
type Error struct {
	// Problem says what is wrong, in one sentence.
	Problem string
	// Usage is the usage of the subcommand concerned, or the list of
	// subcommands.
	Usage string
}

func (e *Error) Error() string {
	if e.Usage == "" {
		return e.Problem
	}
	return e.Problem + "\n\n" + e.Usage
}

func usageErr(v Verb, format string, args ...any) *Error {
	u := Overview()
	if v != "" {
		u = Usage(v)
	}
	return &Error{Problem: fmt.Sprintf(format, args...), Usage: u}
}

// maxText bounds the command text; a slash command is one line a person
// types, and the bound keeps a hostile request from costing anything.
const maxText = 4096

// Parse parses the text after "/cloud". An empty text is help.
func Parse(text string) (*Command, error) {
	if len(text) > maxText {
		return nil, &Error{Problem: fmt.Sprintf("The command is too long (%d characters, at most %d).", len(text), maxText)}
	}
	words, err := split(text)
	if err != nil {
		return nil, &Error{Problem: fmt.Sprintf("Cannot read the command: %s. Close every quote you open.", lowerFirst(err.Error()))}
	}
	if len(words) == 0 {
		return &Command{Verb: Help}, nil
	}
	verb := Verb(strings.ToLower(words[0]))
	args := words[1:]
	switch verb {
	case "-h", "--help":
		verb = Help
	case "wakeup":
		verb = WakeUp
	}
	spec, ok := specs[verb]
	if !ok {
		return nil, usageErr("", "Unknown subcommand %q. Valid subcommands: %s.", words[0], joinVerbs(Verbs()))
	}
	return spec.parse(verb, args)
}

// split is shell-like word splitting. Typographic quotes, which chat
// clients substitute as people type, count as plain ones.
func split(text string) ([]string, error) {
	text = typographicQuotes.Replace(text)
	return shellquote.Split(text)
}

var typographicQuotes = strings.NewReplacer("\u201c", `"`, "\u201d", `"`, "\u2018", "'", "\u2019", "'")

// flagKind tells how a flag's value is read.
type flagKind int

const (
	stringFlag flagKind = iota
	boolFlag
	listFlag
)

// flagDef is one flag of one subcommand.
type flagDef struct {
	name  string
	kind  flagKind
	help  string
	check func(string) error
}

// spec describes one subcommand: its positional arguments and flags.
type spec struct {
	args    []string // positional argument names
	summary string
	flags   []flagDef
}

var (
	sizeFlag = flagDef{name: "size", help: "installation size, e.g. miniSingleton or miniHA", check: func(v string) error {
		if envs.ValidSize(v) {
			return nil
		}
		return fmt.Errorf("invalid size %q; valid sizes: %s (or provisionerXL-N)", v, strings.Join(envs.Sizes(), ", "))
	}}
	versionFlag = flagDef{name: "version", help: "Mattermost version (image tag), e.g. 10.5.0", check: checkToken("version", versionRE)}
	imageFlag   = flagDef{name: "image", help: "container image repository, e.g. mattermost/mattermost-enterprise-edition", check: checkToken("image", imageRE)}
	licenseFlag = flagDef{name: "license", help: "license: " + strings.Join(envs.Licenses(), ", "), check: checkOneOf("license", envs.Licenses)}
	affinity    = flagDef{name: "affinity", help: "isolated or multitenant", check: checkOneOf("affinity", envs.Affinities)}
	database    = flagDef{name: "database", help: "database type: " + strings.Join(envs.Databases(), ", "), check: checkOneOf("database", envs.Databases)}
	filestore   = flagDef{name: "filestore", help: "filestore type: " + strings.Join(envs.Filestores(), ", "), check: checkOneOf("filestore", envs.Filestores)}
	testData    = flagDef{name: "test-data", kind: boolFlag, help: "load sample data once the installation is ready"}
	envFlag     = flagDef{name: "env", kind: listFlag, help: "Mattermost environment variables: KEY=VALUE,KEY2=VALUE2"}
	clearEnv    = flagDef{name: "clear-env", kind: listFlag, help: "environment variables to remove: KEY,KEY2"}
	allFlag     = flagDef{name: "all", kind: boolFlag, help: "everyone's environments, not only yours"}
)

var specs = map[Verb]spec{
	Create:    {args: []string{"NAME"}, summary: "create an environment", flags: []flagDef{sizeFlag, versionFlag, imageFlag, licenseFlag, affinity, database, filestore, testData, envFlag}},
	List:      {summary: "list your environments", flags: []flagDef{allFlag}},
	Info:      {args: []string{"NAME"}, summary: "show an environment and its status"},
	Update:    {args: []string{"NAME"}, summary: "change an environment", flags: []flagDef{versionFlag, imageFlag, licenseFlag, sizeFlag, envFlag, clearEnv}},
	Hibernate: {args: []string{"NAME"}, summary: "hibernate an environment"},
	WakeUp:    {args: []string{"NAME"}, summary: "wake a hibernated environment up"},
	Delete:    {args: []string{"NAME"}, summary: "delete an environment"},
	Extend:    {args: []string{"NAME", "DURATION"}, summary: "keep an environment longer, e.g. extend conf42 3d"},
	Keep:      {args: []string{"NAME"}, summary: "protect an environment from housekeeping"},
	Unkeep:    {args: []string{"NAME"}, summary: "let housekeeping hibernate and delete an environment again"},
	Help:      {args: []string{"[SUBCOMMAND]"}, summary: "show this help"},
}

var (
	// versionRE admits image tags (docker's tag grammar).
	versionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// imageRE admits image repository references without a tag.
	imageRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	// envKeyRE is an environment variable name.
	envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func checkToken(what string, re *regexp.Regexp) func(string) error {
	return func(v string) error {
		if len(v) <= 255 && re.MatchString(v) {
			return nil
		}
		return fmt.Errorf("invalid %s %q", what, v)
	}
}

func checkOneOf(what string, values func() []string) func(string) error {
	return func(v string) error {
		if slices.Contains(values(), v) {
			return nil
		}
		return fmt.Errorf("invalid %s %q; valid values: %s", what, v, strings.Join(values(), ", "))
	}
}

func (s spec) parse(verb Verb, args []string) (*Command, error) {
	fs := pflag.NewFlagSet(string(verb), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	strs := map[string]*string{}
	bools := map[string]*bool{}
	lists := map[string]*[]string{}
	for _, f := range s.flags {
		switch f.kind {
		case stringFlag:
			strs[f.name] = fs.String(f.name, "", f.help)
		case boolFlag:
			bools[f.name] = fs.Bool(f.name, false, f.help)
		case listFlag:
			lists[f.name] = fs.StringSlice(f.name, nil, f.help)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return &Command{Verb: Help, Topic: verb}, nil
		}
		return nil, usageErr(verb, "%s.", upperFirst(flagProblem(err, s)))
	}
	c := &Command{Verb: verb}
	if err := s.positional(c, fs.Args()); err != nil {
		return nil, err
	}
	var problem error
	fs.Visit(func(pf *pflag.Flag) {
		c.Set = append(c.Set, pf.Name)
		if problem != nil {
			return
		}
		problem = s.apply(c, pf.Name, strs, bools, lists)
	})
	if problem != nil {
		return nil, usageErr(verb, "%s.", upperFirst(problem.Error()))
	}
	if verb == Update && len(c.Set) == 0 {
		return nil, usageErr(verb, "Nothing to update: give at least one of %s.", flagNames(s.flags))
	}
	return c, nil
}

// positional reads the subcommand's positional arguments.
func (s spec) positional(c *Command, rest []string) error {
	if c.Verb == Help {
		if len(rest) > 1 {
			return usageErr(Help, "Too many arguments: %s.", strings.Join(rest[1:], " "))
		}
		if len(rest) == 1 {
			t := Verb(strings.ToLower(rest[0]))
			if _, ok := specs[t]; !ok {
				return usageErr("", "Unknown subcommand %q. Valid subcommands: %s.", rest[0], joinVerbs(Verbs()))
			}
			c.Topic = t
		}
		return nil
	}
	if len(rest) < len(s.args) {
		return usageErr(c.Verb, "Missing %s.", strings.Join(s.args[len(rest):], " and "))
	}
	if len(rest) > len(s.args) {
		return usageErr(c.Verb, "Unexpected argument %q.", rest[len(s.args)])
	}
	if len(s.args) == 0 {
		return nil
	}
	name := strings.ToLower(rest[0])
	if err := CheckName(name); err != nil {
		return usageErr(c.Verb, "%s.", upperFirst(err.Error()))
	}
	c.Name = name
	if c.Verb == Extend {
		d, err := envs.ParseDuration(rest[1])
		if err != nil {
			return usageErr(c.Verb, "%s.", upperFirst(err.Error()))
		}
		if d <= 0 {
			return usageErr(c.Verb, "The duration must be longer than zero, e.g. 2d or 36h.")
		}
		c.Duration = d
	}
	return nil
}

// nameRE is the plugin's installation name rule narrowed to what a file
// name and a DNS label both accept (names are lower-cased first).
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckName reports whether name can name an environment.
func CheckName(name string) error {
	if nameRE.MatchString(name) {
		return nil
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Errorf("the environment name must come before the flags and must not start with -: %q", name)
	}
	return fmt.Errorf("invalid environment name %q: use 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit", name)
}

// apply records one given flag on the command.
func (s spec) apply(c *Command, name string, strs map[string]*string, bools map[string]*bool, lists map[string]*[]string) error {
	var def flagDef
	for _, f := range s.flags {
		if f.name == name {
			def = f
		}
	}
	in := &c.Installation
	switch name {
	case "test-data":
		in.TestData = *bools[name]
		return nil
	case "all":
		c.All = *bools[name]
		return nil
	case "env":
		env, err := parseEnv(*lists[name])
		if err != nil {
			return err
		}
		in.Env = env
		return nil
	case "clear-env":
		for _, k := range *lists[name] {
			if !envKeyRE.MatchString(k) {
				return fmt.Errorf("invalid environment variable name %q in --clear-env", k)
			}
			if !slices.Contains(c.ClearEnv, k) {
				c.ClearEnv = append(c.ClearEnv, k)
			}
		}
		if len(c.ClearEnv) == 0 {
			return fmt.Errorf("--clear-env needs at least one variable name")
		}
		return nil
	}
	v := *strs[name]
	if def.check != nil {
		if err := def.check(v); err != nil {
			return err
		}
	}
	switch name {
	case "size":
		in.Size = v
	case "version":
		in.Version = v
	case "image":
		in.Image = v
	case "license":
		in.License = v
	case "affinity":
		in.Affinity = v
	case "database":
		in.Database = v
	case "filestore":
		in.Filestore = v
	}
	return nil
}

// parseEnv reads KEY=VALUE pairs the way the plugin does: split once on
// "=", every key at most once.
func parseEnv(pairs []string) (map[string]string, error) {
	env := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !envKeyRE.MatchString(k) {
			return nil, fmt.Errorf("%q is not in a valid env format; expecting KEY_NAME=VALUE", p)
		}
		if _, dup := env[k]; dup {
			return nil, fmt.Errorf("env var %s was defined more than once", k)
		}
		env[k] = v
	}
	if len(env) == 0 {
		return nil, fmt.Errorf("--env needs at least one KEY=VALUE")
	}
	return env, nil
}

// flagProblem rewrites pflag's errors to name the valid flags.
func flagProblem(err error, s spec) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unknown flag"), strings.HasPrefix(msg, "unknown shorthand flag"):
		if len(s.flags) == 0 {
			return msg + "; this subcommand takes no flags"
		}
		return msg + "; valid flags: " + flagNames(s.flags)
	}
	return msg
}

func flagNames(flags []flagDef) string {
	names := make([]string, len(flags))
	for i, f := range flags {
		names[i] = "--" + f.name
	}
	return strings.Join(names, ", ")
}

func joinVerbs(vs []Verb) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Usage is the usage text of one subcommand, in Markdown.
func Usage(v Verb) string {
	s, ok := specs[v]
	if !ok {
		return Overview()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`/cloud %s", v)
	for _, a := range s.args {
		b.WriteString(" " + a)
	}
	if len(s.flags) > 0 {
		b.WriteString(" [flags]")
	}
	fmt.Fprintf(&b, "`: %s.", s.summary)
	for _, f := range s.flags {
		switch f.kind {
		case boolFlag:
			fmt.Fprintf(&b, "\n- `--%s`: %s", f.name, f.help)
		default:
			fmt.Fprintf(&b, "\n- `--%s VALUE`: %s", f.name, f.help)
		}
	}
	return b.String()
}

// Overview lists every subcommand, in Markdown.
func Overview() string {
	var b strings.Builder
	b.WriteString("Subcommands:")
	for _, v := range Verbs() {
		s := specs[v]
		fmt.Fprintf(&b, "\n- `%s`: %s", strings.TrimSpace(string(v)+" "+strings.Join(s.args, " ")), s.summary)
	}
	b.WriteString("\n\nRun `/cloud help SUBCOMMAND` for a subcommand's flags. Quote values with spaces: `--env 'MM_X=a b'`.")
	return b.String()
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
