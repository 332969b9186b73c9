package command

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/pflag"
)

// Options shape a Registry.
type Options struct {
	// Help names the help command: "--help" or "-h" anywhere runs it with
	// the command as its topic. Its spec must be registered too.
	Help string
	// EmptyIsHelp runs the help command for an empty command line; else an
	// empty line is an error.
	EmptyIsHelp bool
	// Footer ends the overview, e.g. how to quote values.
	Footer string
	// Name names the registry in the docs' markers when it has no trigger
	// (default: the trigger).
	Name string
}

// MaxText bounds a command line; a command is one line a person types, and
// the bound keeps a hostile request from costing anything.
const MaxText = 4096

// Registry holds one bot's commands, in the order help lists them. Each
// bot builds its own value; there is no package state.
type Registry[R any] struct {
	trigger string
	opts    Options
	specs   []*Spec[R]
	byName  map[string]*Spec[R]
}

// New returns an empty registry for trigger, the word the commands follow
// ("/cloud", "/env"). With an empty trigger each command is a word of its
// own, named with its slash ("/update-branch"), as Prow's plugins are.
func New[R any](trigger string, opts Options) *Registry[R] {
	return &Registry[R]{trigger: trigger, opts: opts, byName: map[string]*Spec[R]{}}
}

// Trigger is the word the commands follow.
func (r *Registry[R]) Trigger() string { return r.trigger }

// Add registers a command. A spec that cannot work (no name, a name taken,
// an optional argument before a required one) is a programming error and
// panics, as http.ServeMux.Handle does.
func (r *Registry[R]) Add(s Spec[R]) {
	if s.Name == "" || s.Summary == "" {
		panic("command: a command needs a name and a summary")
	}
	for _, n := range append([]string{s.Name}, s.Aliases...) {
		if n != strings.ToLower(n) {
			panic(fmt.Sprintf("command: %s: names are lower case", n))
		}
		if _, dup := r.byName[n]; dup {
			panic(fmt.Sprintf("command: %s registered twice", strings.TrimSpace(r.trigger+" "+n)))
		}
	}
	for i, a := range s.Args {
		if a.Variadic && i != len(s.Args)-1 {
			panic(fmt.Sprintf("command: %s: only the last argument may be variadic", r.title(&s)))
		}
		if !a.Optional && i > 0 && s.Args[i-1].Optional {
			panic(fmt.Sprintf("command: %s: required argument %s after an optional one", r.title(&s), a.Name))
		}
		if _, clash := s.Flag(a.Name); clash {
			panic(fmt.Sprintf("command: %s: argument and flag both named %s", r.title(&s), a.Name))
		}
	}
	sp := &s
	r.specs = append(r.specs, sp)
	for _, n := range append([]string{s.Name}, s.Aliases...) {
		r.byName[n] = sp
	}
}

// title is how people type a command: "/cloud create", "/update-branch".
func (r *Registry[R]) title(s *Spec[R]) string {
	return strings.TrimSpace(r.trigger + " " + s.Name)
}

// docName names the registry in the docs' markers.
func (r *Registry[R]) docName() string {
	if r.opts.Name != "" {
		return r.opts.Name
	}
	return r.trigger
}

// Specs returns the commands in help order.
func (r *Registry[R]) Specs() []*Spec[R] { return slices.Clone(r.specs) }

// Lookup finds a command by name or alias, in any case.
func (r *Registry[R]) Lookup(name string) (*Spec[R], bool) {
	s, ok := r.byName[strings.ToLower(name)]
	return s, ok
}

// Names lists the commands' names, comma-separated.
func (r *Registry[R]) Names() string {
	n := make([]string, len(r.specs))
	for i, s := range r.specs {
		n[i] = s.Name
	}
	return strings.Join(n, ", ")
}

func (r *Registry[R]) unknown(word string) *Error {
	return &Error{Problem: fmt.Sprintf("Unknown subcommand %q. Valid subcommands: %s.", word, r.Names()), Usage: r.Overview()}
}

// Parse reads the text after the trigger. The spec is nil only with an
// error.
func (r *Registry[R]) Parse(text string) (*Spec[R], *Input, error) {
	if len(text) > MaxText {
		return nil, nil, &Error{Problem: fmt.Sprintf("The command is too long (%d characters, at most %d).", len(text), MaxText)}
	}
	words, err := split(text)
	if err != nil {
		return nil, nil, &Error{Problem: fmt.Sprintf("Cannot read the command: %s. Close every quote you open.", lowerFirst(err.Error()))}
	}
	if len(words) == 0 {
		if h, ok := r.byName[r.opts.Help]; ok && r.opts.EmptyIsHelp {
			return h, r.input(h), nil
		}
		return nil, nil, &Error{Problem: fmt.Sprintf("`%s` needs a subcommand: %s.", r.trigger, r.Names()), Usage: r.Overview()}
	}
	if w := words[0]; (w == "-h" || w == "--help") && r.opts.Help != "" {
		words[0] = r.opts.Help
	}
	s, ok := r.Lookup(words[0])
	if !ok {
		return nil, nil, r.unknown(words[0])
	}
	in, err := r.parse(s, words[1:])
	if err != nil {
		return nil, nil, err
	}
	if in.Command != s.Name {
		// --help asked for the help of s.
		s = r.byName[in.Command]
	}
	return s, in, nil
}

// split is shell-like word splitting. Typographic quotes, which chat
// clients substitute as people type, count as plain ones.
func split(text string) ([]string, error) {
	return shellquote.Split(typographicQuotes.Replace(text))
}

var typographicQuotes = strings.NewReplacer("\u201c", `"`, "\u201d", `"`, "\u2018", "'", "\u2019", "'")

func (r *Registry[R]) input(s *Spec[R]) *Input {
	return &Input{Command: s.Name, vals: map[string]value{}}
}

func (r *Registry[R]) parse(s *Spec[R], words []string) (*Input, error) {
	fail := func(err error) error { return r.fail(s, err) }
	fs := pflag.NewFlagSet(s.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.SetInterspersed(!s.Verbatim)
	for _, f := range s.Flags {
		switch f.Kind {
		case Bool:
			fs.Bool(f.Name, false, f.Help)
		case List:
			fs.StringSlice(f.Name, nil, f.Help)
		case Repeated:
			fs.StringArray(f.Name, nil, f.Help)
		default:
			fs.String(f.Name, f.Default, f.Help)
		}
	}
	if err := fs.Parse(words); err != nil {
		if errors.Is(err, pflag.ErrHelp) && r.opts.Help != "" {
			h := r.byName[r.opts.Help]
			in := r.input(h)
			if len(h.Args) > 0 {
				in.vals[h.Args[0].Name] = value{s: s.Name}
			}
			return in, nil
		}
		return nil, fail(errors.New(flagProblem(err, s)))
	}
	in := r.input(s)
	if err := r.positional(s, in, fs.Args()); err != nil {
		return nil, fail(err)
	}
	var problem error
	fs.VisitAll(func(pf *pflag.Flag) {
		f, _ := s.Flag(pf.Name)
		if pf.Changed {
			in.set = append(in.set, pf.Name)
		}
		if problem == nil {
			problem = store(in, f, pf)
		}
	})
	if problem != nil {
		return nil, fail(problem)
	}
	if s.Check != nil {
		if err := s.Check(in); err != nil {
			return nil, fail(err)
		}
	}
	return in, nil
}

// fail is a problem with a command's arguments or flags.
func (r *Registry[R]) fail(s *Spec[R], err error) error {
	return &Error{Command: r.title(s), Problem: sentence(err.Error()), Usage: r.Usage(s.Name)}
}

// store checks one flag's value and records it on the input.
func store(in *Input, f Flag, pf *pflag.Flag) error {
	check := f.Check
	if check == nil && len(f.Values) > 0 {
		check = OneOf(f.Name, f.Values)
	}
	switch f.Kind {
	case Bool:
		if pf.Value.String() == "true" {
			in.vals[f.Name] = value{b: true}
		}
		return nil
	case List, Repeated:
		vs := pf.Value.(pflag.SliceValue).GetSlice()
		for _, v := range vs {
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
		}
		if len(vs) > 0 {
			in.vals[f.Name] = value{l: vs}
		}
		return nil
	}
	v := pf.Value.String()
	if !pf.Changed {
		if v != "" {
			in.vals[f.Name] = value{s: v}
		}
		return nil
	}
	if check != nil {
		if err := check(v); err != nil {
			return err
		}
	}
	val := value{s: v}
	if f.Kind == Duration {
		d, err := CheckDuration(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.Name, err)
		}
		val.d = d
	}
	in.vals[f.Name] = val
	return nil
}

// positional reads the positional arguments.
func (r *Registry[R]) positional(s *Spec[R], in *Input, rest []string) error {
	required := 0
	for _, a := range s.Args {
		if !a.Optional {
			required++
		}
	}
	if len(rest) < required {
		var missing []string
		for _, a := range s.Args[len(rest):required] {
			missing = append(missing, a.Name)
		}
		return fmt.Errorf("missing %s", strings.Join(missing, " and "))
	}
	variadic := len(s.Args) > 0 && s.Args[len(s.Args)-1].Variadic
	if len(rest) > len(s.Args) && !variadic {
		return fmt.Errorf("unexpected argument %q", rest[len(s.Args)])
	}
	for i, v := range rest {
		a := s.Args[min(i, len(s.Args)-1)]
		if a.Normalize != nil {
			v = a.Normalize(v)
		}
		val := value{}
		switch a.Kind {
		case Subcommand:
			t, ok := r.Lookup(v)
			if !ok {
				return fmt.Errorf("unknown subcommand %q. Valid subcommands: %s", v, r.Names())
			}
			v = t.Name
		case Duration:
			d, err := CheckDuration(v)
			if err != nil {
				return err
			}
			val.d = d
		}
		if a.Check != nil {
			if err := a.Check(v); err != nil {
				return err
			}
		}
		if a.Variadic {
			prev := in.vals[a.Name]
			val.l = append(prev.l, v)
			if len(prev.l) > 0 {
				val.s = prev.s
			} else {
				val.s = v
			}
			in.vals[a.Name] = val
			continue
		}
		val.s = v
		in.vals[a.Name] = val
	}
	return nil
}

// flagProblem rewrites pflag's errors to name the valid flags.
func flagProblem(err error, s interface{ FlagNames() string }) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag") {
		if names := s.FlagNames(); names != "" {
			return msg + "; valid flags: " + names
		}
		return msg + "; this subcommand takes no flags"
	}
	return msg
}
