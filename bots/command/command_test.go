package command

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// run is the run type of the test registry: the command's name.
type run func() string

func testRegistry(opts Options) *Registry[run] {
	r := New[run]("/t", opts)
	r.Add(Spec[run]{Name: "make", Summary: "make a thing", Permission: "owner",
		Args: []Arg{{Name: "NAME", Help: "the thing", Normalize: strings.ToLower, Check: func(v string) error {
			if strings.ContainsAny(v, "_") {
				return errors.New("invalid name " + v)
			}
			return nil
		}}},
		Flags: []Flag{
			{Name: "colour", Value: "COLOUR", Values: []string{"red", "blue"}, Default: "red", Help: "its colour"},
			{Name: "size", Value: "SIZE", Values: []string{"miniSingleton", "miniHA"}, Check: CheckSize, Help: "its size"},
			{Name: "tag", Kind: List, Value: "TAG", Help: "tags"},
			{Name: "note", Kind: Repeated, Value: "TEXT", Help: "notes"},
			{Name: "shiny", Kind: Bool, Help: "polish it"},
			{Name: "for", Kind: Duration, Value: "DURATION", Help: "how long"},
		},
		Check: func(in *Input) error {
			if in.Bool("shiny") && in.String("colour") == "blue" {
				return errors.New("blue things do not shine")
			}
			return nil
		},
		Run: func() string { return "make" }})
	r.Add(Spec[run]{Name: "wait", Aliases: []string{"pause"}, Summary: "wait a while", Permission: Anyone,
		Args: []Arg{{Name: "NAME"}, {Name: "DURATION", Kind: Duration}}, Run: func() string { return "wait" }})
	r.Add(Spec[run]{Name: "help", Summary: "show this help", Permission: Anyone,
		Args: []Arg{{Name: "SUBCOMMAND", Kind: Subcommand, Optional: true}}, Run: func() string { return "help" }})
	return r
}

// parsed is what a run function can read of an input, for comparison.
type parsed struct {
	Command string
	Args    map[string]string
	Strs    map[string]string
	Bools   map[string]bool
	Lists   map[string][]string
	Durs    map[string]time.Duration
	Set     []string
}

func flatten(r *Registry[run], in *Input) parsed {
	s, _ := r.Lookup(in.Command)
	p := parsed{Command: in.Command, Args: map[string]string{}, Strs: map[string]string{}, Bools: map[string]bool{},
		Lists: map[string][]string{}, Durs: map[string]time.Duration{}, Set: in.set}
	for _, a := range s.Args {
		if v, ok := in.vals[a.Name]; ok {
			p.Args[a.Name] = v.s
			if v.d != 0 {
				p.Durs[a.Name] = v.d
			}
		}
	}
	for _, f := range s.Flags {
		v, ok := in.vals[f.Name]
		switch {
		case !ok:
		case f.Kind == Bool:
			p.Bools[f.Name] = v.b
		case f.Kind == List || f.Kind == Repeated:
			p.Lists[f.Name] = v.l
		default:
			p.Strs[f.Name] = v.s
			if v.d != 0 {
				p.Durs[f.Name] = v.d
			}
		}
	}
	return p
}

func TestParse(t *testing.T) {
	r := testRegistry(Options{Help: "help", EmptyIsHelp: true})
	def := func(p parsed) parsed {
		if p.Args == nil {
			p.Args = map[string]string{}
		}
		if p.Strs == nil {
			p.Strs = map[string]string{}
		}
		if p.Bools == nil {
			p.Bools = map[string]bool{}
		}
		if p.Lists == nil {
			p.Lists = map[string][]string{}
		}
		if p.Durs == nil {
			p.Durs = map[string]time.Duration{}
		}
		return p
	}
	mk := func(p parsed) parsed {
		p.Command = "make"
		if p.Strs == nil {
			p.Strs = map[string]string{"colour": "red"}
		}
		return def(p)
	}
	for _, tt := range []struct {
		text string
		want parsed
	}{
		{"", def(parsed{Command: "help"})},
		{"help", def(parsed{Command: "help"})},
		{"HELP Make", def(parsed{Command: "help", Args: map[string]string{"SUBCOMMAND": "make"}})},
		{"help pause", def(parsed{Command: "help", Args: map[string]string{"SUBCOMMAND": "wait"}})},
		{"--help", def(parsed{Command: "help"})},
		{"make --help", def(parsed{Command: "help", Args: map[string]string{"SUBCOMMAND": "make"}})},
		{"wait -h", def(parsed{Command: "help", Args: map[string]string{"SUBCOMMAND": "wait"}})},
		{"make Thing", mk(parsed{Args: map[string]string{"NAME": "thing"}})},
		{"make thing --colour blue --size=miniHA", mk(parsed{Args: map[string]string{"NAME": "thing"},
			Strs: map[string]string{"colour": "blue", "size": "miniHA"}, Set: []string{"colour", "size"}})},
		{"make --size provisionerXL-3 thing", mk(parsed{Args: map[string]string{"NAME": "thing"},
			Strs: map[string]string{"colour": "red", "size": "provisionerXL-3"}, Set: []string{"size"}})},
		{"make thing --shiny --tag a,b --tag c --note x,y --note 'z w'", mk(parsed{Args: map[string]string{"NAME": "thing"},
			Bools: map[string]bool{"shiny": true}, Lists: map[string][]string{"tag": {"a", "b", "c"}, "note": {"x,y", "z w"}},
			Set: []string{"tag", "note", "shiny"}})},
		{"make thing --for 1w2d", mk(parsed{Args: map[string]string{"NAME": "thing"},
			Strs: map[string]string{"colour": "red", "for": "1w2d"}, Durs: map[string]time.Duration{"for": 9 * 24 * time.Hour}, Set: []string{"for"}})},
		{"make \u201cthing\u201d", mk(parsed{Args: map[string]string{"NAME": "thing"}})},
		{"pause a 36h", def(parsed{Command: "wait", Args: map[string]string{"NAME": "a", "DURATION": "36h"}, Durs: map[string]time.Duration{"DURATION": 36 * time.Hour}})},
	} {
		t.Run(tt.text, func(t *testing.T) {
			s, in, err := r.Parse(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != in.Command || s.Run() != in.Command {
				t.Errorf("spec %s for input %s", s.Name, in.Command)
			}
			if got := flatten(r, in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestInputAccessors(t *testing.T) {
	r := testRegistry(Options{})
	_, in, err := r.Parse("make x --tag a --shiny --for 2d")
	if err != nil {
		t.Fatal(err)
	}
	if in.Arg("NAME") != "x" || in.String("colour") != "red" || !in.Bool("shiny") || !in.Given("tag") || in.Given("colour") ||
		!reflect.DeepEqual(in.List("tag"), []string{"a"}) || in.Duration("for") != 48*time.Hour || len(in.Set()) != 3 {
		t.Errorf("input %+v", flatten(r, in))
	}
}

func TestParseErrors(t *testing.T) {
	r := testRegistry(Options{Help: "help", EmptyIsHelp: false})
	for _, tt := range []struct {
		text    string
		command string
		want    []string
	}{
		{"", "", []string{"`/t` needs a subcommand: make, wait, help.", "Subcommands:"}},
		{"frob", "", []string{`Unknown subcommand "frob". Valid subcommands: make, wait, help.`, "- `/t make NAME [flags]`: make a thing"}},
		{"help frob", "/t help", []string{`Unknown subcommand "frob"`, "`/t help [SUBCOMMAND]`"}},
		{"help make wait", "/t help", []string{`Unexpected argument "wait"`}},
		{"make", "/t make", []string{"Missing NAME.", "`/t make NAME [flags]`: make a thing.", "- `--colour COLOUR`: its colour (one of red, blue; default red)"}},
		{"wait", "/t wait", []string{"Missing NAME and DURATION."}},
		{"wait a", "/t wait", []string{"Missing DURATION."}},
		{"wait a soon", "/t wait", []string{`Invalid duration "soon": use forms like`}},
		{"wait a 0s", "/t wait", []string{"The duration must be longer than zero"}},
		{"wait a 1d --x", "/t wait", []string{"Unknown flag: --x; this subcommand takes no flags."}},
		{"make a_b", "/t make", []string{"Invalid name a_b."}},
		{"make a --colour green", "/t make", []string{`Invalid colour "green"; valid values: red, blue.`}},
		{"make a --size xl", "/t make", []string{`Invalid size "xl"; valid sizes:`, "provisionerXL-N"}},
		{"make a --colour", "/t make", []string{"Flag needs an argument: --colour."}},
		{"make a --colur red", "/t make", []string{"Unknown flag: --colur; valid flags: --colour, --size, --tag, --note, --shiny, --for."}},
		{"make a -x", "/t make", []string{"Unknown shorthand flag: 'x' in -x"}},
		{"make a --shiny=maybe", "/t make", []string{"Invalid argument", "shiny"}},
		{"make a --for never", "/t make", []string{`--for: invalid duration "never"`}},
		{"make a --shiny --colour blue", "/t make", []string{"Blue things do not shine."}},
		{"make 'a", "", []string{"Cannot read the command: unterminated single-quoted string. Close every quote you open."}},
		{strings.Repeat("x", MaxText+1), "", []string{"too long"}},
	} {
		t.Run(tt.text, func(t *testing.T) {
			s, in, err := r.Parse(tt.text)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%q) = %v, %v, %v; want an *Error", tt.text, s, in, err)
			}
			if s != nil || in != nil {
				t.Errorf("both a command and an error")
			}
			if ce.Command != tt.command {
				t.Errorf("error names command %q, want %q", ce.Command, tt.command)
			}
			if tt.command != "" && !strings.HasPrefix(err.Error(), "`"+tt.command+"`: ") {
				t.Errorf("error %q does not start with the command", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestHelpTexts(t *testing.T) {
	r := testRegistry(Options{Help: "help", Footer: "Quote values with spaces."})
	for _, tt := range []struct{ got, want string }{
		{r.Overview(), "Subcommands:\n- `/t make NAME [flags]`: make a thing\n- `/t wait NAME DURATION`: wait a while\n" +
			"- `/t help [SUBCOMMAND]`: show this help\n\nRun `/t help SUBCOMMAND` for a subcommand's arguments and flags. Quote values with spaces."},
		{r.Usage("pause"), "`/t wait NAME DURATION`: wait a while.\n\nAlso `/t pause`.\n\nWho may run it: anyone."},
		{r.Usage("nothing"), r.Overview()},
		{r.Usage("make"), "`/t make NAME [flags]`: make a thing.\n- `NAME`: the thing\n" +
			"- `--colour COLOUR`: its colour (one of red, blue; default red)\n- `--size SIZE`: its size (one of miniSingleton, miniHA)\n" +
			"- `--tag TAG,...`: tags (comma-separated, repeatable)\n- `--note TEXT`: notes (repeatable)\n" +
			"- `--shiny`: polish it\n- `--for DURATION`: how long\n\nWho may run it: owner."},
		{r.CommandTable(), "| command | who may run it | what it does |\n| --- | --- | --- |\n" +
			"| `/t make NAME [flags]` | owner | make a thing |\n| `/t wait NAME DURATION` (also `pause`) | anyone | wait a while |\n" +
			"| `/t help [SUBCOMMAND]` | anyone | show this help |\n"},
	} {
		if tt.got != tt.want {
			t.Errorf("got\n%s\nwant\n%s", tt.got, tt.want)
		}
	}
	small := New[run]("/e", Options{})
	small.Add(Spec[run]{Name: "create", Summary: "create it", Flags: []Flag{
		{Name: "size", Value: "SIZE", Help: "size"}, {Name: "env", Kind: Repeated, Value: "KEY=VALUE", Help: "variable"}}})
	small.Add(Spec[run]{Name: "update", Summary: "update it", Flags: []Flag{
		{Name: "size", Value: "SIZE", Help: "size"}, {Name: "all", Kind: Bool, Help: "all"}}})
	if got, want := small.Synopsis(small.Specs()[0]), "/e create [--size SIZE] [--env KEY=VALUE]..."; got != want {
		t.Errorf("synopsis %q, want %q", got, want)
	}
	want := "| flag | of | means | accepts |\n| --- | --- | --- | --- |\n| `--size SIZE` | create, update | size |  |\n" +
		"| `--env KEY=VALUE` | create | variable | repeatable |\n| `--all` | update | all |  |\n"
	if got := small.FlagTable(); got != want {
		t.Errorf("flag table\n%s\nwant\n%s", got, want)
	}
}

func TestAddRefusesBrokenSpecs(t *testing.T) {
	for name, s := range map[string]Spec[run]{
		"no summary":         {Name: "x"},
		"taken name":         {Name: "make", Summary: "again"},
		"taken alias":        {Name: "y", Aliases: []string{"pause"}, Summary: "y"},
		"upper case":         {Name: "Z", Summary: "z"},
		"optional then more": {Name: "w", Summary: "w", Args: []Arg{{Name: "A", Optional: true}, {Name: "B"}}},
		"arg named as flag":  {Name: "v", Summary: "v", Args: []Arg{{Name: "x"}}, Flags: []Flag{{Name: "x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%+v) did not panic", s)
				}
			}()
			testRegistry(Options{}).Add(s)
		})
	}
}

// FuzzParse: no text makes Parse panic; every failure is an *Error with a
// problem, every success a known command with its required arguments.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "help", "make a --tag x,y --note 'a b'", "wait a 1w2d", "make 'x", "--help", "make -- --x", "help pause"} {
		f.Add(s)
	}
	r := testRegistry(Options{Help: "help", EmptyIsHelp: true})
	f.Fuzz(func(t *testing.T, text string) {
		s, in, err := r.Parse(text)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Problem == "" || s != nil || in != nil {
				t.Fatalf("Parse(%q): %v is not a reply", text, err)
			}
			return
		}
		if _, ok := r.Lookup(s.Name); !ok || s.Name != in.Command {
			t.Fatalf("Parse(%q): command %q", text, s.Name)
		}
		for _, a := range s.Args {
			if !a.Optional && in.Arg(a.Name) == "" && text != "" {
				t.Fatalf("Parse(%q): %s missing", text, a.Name)
			}
		}
	})
}

func TestSpliceDoc(t *testing.T) {
	r := testRegistry(Options{})
	begin := "<!-- begin generated: /t commands; edit the registry, then make docs -->"
	end := "<!-- end generated: /t commands -->"
	doc := "# T\n\n" + begin + "\nold table\n" + end + "\n\nprose\n"
	got, err := r.SpliceDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\n\n" + begin + "\n" + r.CommandTable() + "\nFlags:\n\n" + r.FlagTable() + end + "\n\nprose\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if again, _ := r.SpliceDoc(got); again != got {
		t.Errorf("splicing twice changed the document")
	}
	for _, bad := range []string{"no markers", begin + " only", end + "\n" + begin, begin + begin + end} {
		if _, err := r.SpliceDoc(bad); err == nil {
			t.Errorf("SpliceDoc(%q) succeeded", bad)
		}
	}
}

func TestSyncDoc(t *testing.T) {
	r := testRegistry(Options{})
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "<!-- begin generated: /t commands; edit the registry, then make docs -->\nold\n<!-- end generated: /t commands -->\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if stale, err := r.SyncDoc(path, false); err != nil || !stale {
		t.Fatalf("stale document: %v, %v", stale, err)
	}
	if b, _ := os.ReadFile(path); string(b) != doc {
		t.Fatal("a check rewrote the document")
	}
	if stale, err := r.SyncDoc(path, true); err != nil || !stale {
		t.Fatalf("rewrite: %v, %v", stale, err)
	}
	if stale, err := r.SyncDoc(path, false); err != nil || stale {
		t.Fatalf("after the rewrite: %v, %v", stale, err)
	}
	if _, err := r.SyncDoc(filepath.Join(t.TempDir(), "none.md"), false); err == nil {
		t.Error("a missing document is no error")
	}
}
