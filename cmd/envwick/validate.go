package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envwick/envwick/envs"
)

// validateReport is the result of checking an envs repository, as printed
// by 'validate -o json'.
type validateReport struct {
	Files    int            `json:"files"`
	Invalid  int            `json:"invalid"`
	Problems []envs.Problem `json:"problems"`
}

func newValidateCmd() *cobra.Command {
	var output string
	var allowEmpty bool
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check every environment file in an envs repository",
		Long: `validate checks every environment file under DIR/environments (DIR is a work
tree of an envs repository, '.' by default): YAML syntax, unknown fields,
wrong types, names, values outside the vocabularies, file names that do not
match metadata.name, and names used by more than one file.

It prints one line per problem as file:line:column: field: message, then a
summary, and exits 1 when anything is wrong, or when there is no environment
file at all (a wrong folder; --allow-empty accepts an envs repository with no
environments yet). Run it in the envs repository's CI so a pull request
cannot merge a broken environment.

Output formats (-o):
  text     file:line:column: message (default)
  github   GitHub Actions workflow commands, so problems show on the
           pull request's changed lines
  json     {"files": N, "invalid": N, "problems": [...]}`,
		Example: `  envwick validate
  envwick validate ../envs -o github`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if output != "text" && output != "github" && output != "json" {
				return fmt.Errorf("unknown output format %q: use text, github or json", output)
			}
			report, err := validateTree(dir)
			if err != nil {
				return err
			}
			if err := printReport(cmd.OutOrStdout(), output, report); err != nil {
				return err
			}
			if len(report.Problems) > 0 {
				return &exitError{code: 1}
			}
			if report.Files == 0 && !allowEmpty {
				return &exitError{code: 1, msg: fmt.Sprintf("no environment files under %s: is %s an envs repository? (--allow-empty accepts one with no environments yet)",
					filepath.Join(dir, envs.Dir), dir)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, github or json")
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "exit 0 when there are no environment files at all")
	return cmd
}

// validateTree checks the envs repository work tree at dir. Problem files
// are paths as seen from the current directory (dir joined with the
// repository path), so editors and CI can open them.
func validateTree(dir string) (validateReport, error) {
	if info, err := os.Stat(dir); err != nil {
		return validateReport{}, fmt.Errorf("reading envs repository: %w", err)
	} else if !info.IsDir() {
		return validateReport{}, fmt.Errorf("reading envs repository: %s is not a directory", dir)
	}
	docs, err := envs.ReadDir(os.DirFS(dir))
	if err != nil {
		return validateReport{}, fmt.Errorf("reading envs repository %s: %w", dir, err)
	}
	report := validateReport{Files: len(docs), Problems: []envs.Problem{}}
	for _, d := range docs {
		if d.Err == nil {
			continue
		}
		report.Invalid++
		var ps envs.Problems
		if !errors.As(d.Err, &ps) {
			ps = envs.Problems{{File: d.Path, Message: d.Err.Error()}}
		}
		for _, p := range ps {
			p.File = filepath.Join(dir, filepath.FromSlash(p.File))
			report.Problems = append(report.Problems, p)
		}
	}
	return report, nil
}

func printReport(w io.Writer, format string, r validateReport) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r) // the summary is in the document
	case "github":
		for _, p := range r.Problems {
			props := "file=" + escapeProperty(filepath.ToSlash(p.File))
			if p.Line > 0 {
				props += fmt.Sprintf(",line=%d", p.Line)
			}
			if p.Column > 0 {
				props += fmt.Sprintf(",col=%d", p.Column)
			}
			if p.Field != "" {
				props += ",title=" + escapeProperty(p.Field)
			}
			msg := p.Message
			if p.Field != "" {
				msg = p.Field + ": " + msg
			}
			if _, err := fmt.Fprintf(w, "::error %s::%s\n", props, escapeData(msg)); err != nil {
				return err
			}
		}
	default:
		for _, p := range r.Problems {
			if _, err := fmt.Fprintln(w, p.Error()); err != nil {
				return err
			}
		}
	}
	_, err := fmt.Fprintln(w, summary(r))
	return err
}

func summary(r validateReport) string {
	files := plural(r.Files, "environment file")
	if len(r.Problems) == 0 {
		return fmt.Sprintf("%s checked, all valid", files)
	}
	return fmt.Sprintf("%s checked: %s in %s", files, plural(len(r.Problems), "problem"), plural(r.Invalid, "file"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// escapeData and escapeProperty follow the GitHub Actions workflow command
// encoding, so messages with newlines, commas or colons survive.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
