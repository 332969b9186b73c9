package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

func newPlanCmd() *cobra.Command {
	var cfg systemConfig
	var output, commit, dir string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a reconcile pass would do, changing nothing",
		Long: `plan reads the envs repository and the platform, and prints per environment
what a reconcile pass would do (create, update, hibernate, wake up, delete,
adopt, nothing), which housekeeping commits it would make, and every
environment file that does not parse or validate (file:line:column). It
changes nothing: no provisioner calls that change anything, no commits.

By default it plans the head of the branch people edit. --commit plans any
commit of the envs repository (a hash, a branch, a tag); --dir plans the
environment files of a local work tree as they are on disk, unpushed commits
and uncommitted files included. Either way the fleet is the one running now,
and the repository-level rules apply: a name used by one file only, and the
mass-deletion guard (with the work tree's .envwick/allow-deletions).

Inside a clone of the envs repository of 'envwick dev', 'plan --dir .' needs
no other flag: the clone's origin names the repository and its data folder.

Exit status: 0 when there is nothing to do, 2 when something would change,
1 when an environment file is invalid or on error.
With no flags it plans against a running 'envwick dev'.`,
		Example: `  envwick plan
  envwick plan --commit my-branch
  envwick plan --dir .            # a clone with unpushed or uncommitted edits
  envwick plan -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o must be text or json, not %q", output)
			}
			if commit != "" && dir != "" {
				return errors.New("--commit and --dir each say what to plan: give one")
			}
			if dir != "" {
				if err := repoFromWorkTree(&cfg, dir, cmd.Flags().Changed("data-dir")); err != nil {
					return err
				}
			}
			sys, err := buildSystem(cmd.Context(), &cfg, cmd.ErrOrStderr(), "plan")
			if err != nil {
				return err
			}
			defer sys.Close()
			p, err := planWhat(cmd.Context(), sys, commit, dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(p); err != nil {
					return err
				}
			} else {
				printPlan(out, p, dir)
				printPlanFooter(out, p)
			}
			return planExit(p)
		},
	}
	cfg.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&commit, "commit", "", "plan this commit of the envs repository (hash, branch or tag) instead of the head")
	cmd.Flags().StringVar(&dir, "dir", "", "plan the environment files of this work tree, as they are on disk")
	return cmd
}

// planExit is plan's exit status: 1 for invalid files, 2 for changes.
func planExit(p *reconciler.Plan) error {
	switch {
	case len(p.Invalid) > 0:
		return &exitError{code: 1, msg: plural(len(p.Invalid), "invalid environment file") + ": left as they are until fixed"}
	case p.Changes() > 0:
		return &exitError{code: 2}
	}
	return nil
}

// planWhat runs the dry run plan was asked for.
func planWhat(ctx context.Context, sys *System, commit, dir string) (*reconciler.Plan, error) {
	switch {
	case dir != "":
		in, err := workTreeInput(dir)
		if err != nil {
			return nil, err
		}
		return sys.Reconciler.DryRun(ctx, in)
	case commit != "":
		if _, err := sys.Repo.Sync(ctx); err != nil {
			return nil, err
		}
		h, err := sys.Repo.Resolve(ctx, commit)
		if err != nil {
			return nil, err
		}
		return sys.Reconciler.DryRun(ctx, reconciler.DryRunInput{Commit: h})
	}
	return sys.Reconciler.Plan(ctx)
}

// workTreeInput reads the environment files of a work tree, with the git
// blob hash of each (so unchanged files match recorded status), and its
// deletion override.
func workTreeInput(dir string) (reconciler.DryRunInput, error) {
	in := reconciler.DryRunInput{Source: "work tree " + dir}
	if info, err := os.Stat(dir); err != nil {
		return in, fmt.Errorf("reading the work tree: %w", err)
	} else if !info.IsDir() {
		return in, fmt.Errorf("reading the work tree: %s is not a directory", dir)
	}
	fsys := os.DirFS(dir)
	docs, err := envs.ReadDir(fsys)
	if err != nil {
		return in, fmt.Errorf("reading the work tree %s: %w", dir, err)
	}
	in.Files = reconciler.DesiredFromDocuments(docs, func(p string) string {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return ""
		}
		return plumbing.ComputeHash(plumbing.BlobObject, data).String()
	})
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(reconciler.AllowDeletionsPath)))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return in, err
	default:
		if in.AllowedDeletions, err = reconciler.ParseAllowedDeletions(data); err != nil {
			return in, err
		}
	}
	return in, nil
}

// repoFromWorkTree lets 'plan --dir' find the envs repository from the work
// tree: without --repo-url (and no dev repository in the data dir), the
// work tree's origin is the repository; when that origin is the repository
// of an 'envwick dev' data folder, that folder is the data dir too (for the
// simulator's URL) unless --data-dir was given.
func repoFromWorkTree(c *systemConfig, dir string, dataDirSet bool) error {
	if c.RepoURL != "" {
		return nil
	}
	if _, err := os.Stat(devRepoPath(c.DataDir)); err == nil {
		return nil
	}
	g, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil // not a clone: buildSystem says what is missing
	}
	rem, err := g.Remote("origin")
	if err != nil || len(rem.Config().URLs) == 0 {
		return nil
	}
	url := rem.Config().URLs[0]
	if !strings.Contains(url, "://") && !strings.Contains(url, "@") && !filepath.IsAbs(url) {
		url = filepath.Join(dir, url)
	}
	c.RepoURL = url
	local := strings.TrimPrefix(url, "file://")
	if !dataDirSet && filepath.Base(local) == filepath.Base(devRepoPath("")) {
		if _, err := os.Stat(devProvisionerFile(filepath.Dir(local))); err == nil {
			c.DataDir = filepath.Dir(local)
		}
	}
	return nil
}

// printPlan writes a plan for a person: one line per environment, then the
// invalid files, the housekeeping commits and the guard. Paths of a work
// tree are shown from the current directory (dir joined with the path).
func printPlan(w io.Writer, p *reconciler.Plan, dir string) {
	if p.Source != "" {
		fmt.Fprintf(w, "Plan of %s: %s, %s\n\n", p.Source, plural(countEnvs(p), "environment"), plural(p.Owned, "owned installation"))
	} else {
		fmt.Fprintf(w, "Plan at commit %s: %s, %s\n\n", shortSHA(p.Commit), plural(countEnvs(p), "environment"), plural(p.Owned, "owned installation"))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, it := range p.Items {
		action := string(it.Action)
		switch {
		case it.Blocked:
			action = "delete (held)"
		case it.Action == reconciler.ActionNone:
			action = "-"
		}
		state := ""
		if it.Installation != nil {
			state = it.Installation.State
		}
		reason := it.Reason
		if it.Stalled != "" && strings.HasPrefix(reason, "file has errors") {
			reason = "file has errors (below): installation left as it is"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", action, it.Name, state, reason)
	}
	tw.Flush()
	if len(p.Invalid) > 0 {
		fmt.Fprintf(w, "\n%s, left as they are until fixed:\n", plural(len(p.Invalid), "invalid environment file"))
		for _, f := range p.Invalid {
			for _, pr := range f.Problems {
				if dir != "" {
					pr.File = filepath.Join(dir, filepath.FromSlash(pr.File))
				}
				fmt.Fprintf(w, "  %s\n", pr.Error())
			}
		}
	}
	if len(p.Housekeeping) > 0 {
		fmt.Fprintln(w, "\nHousekeeping commits:")
		for _, h := range p.Housekeeping {
			fmt.Fprintf(w, "  %s %s: %s\n", h.Action, h.Name, h.Reason)
		}
	}
	if p.Guard != "" {
		fmt.Fprintf(w, "\nMass-deletion guard: %s\n", p.Guard)
	}
}

// printPlanFooter says what is left to do after a plan.
func printPlanFooter(w io.Writer, p *reconciler.Plan) {
	switch n := p.Changes(); n {
	case 0:
		if len(p.Invalid) > 0 {
			fmt.Fprintln(w, "\nNothing to change besides fixing the invalid files.")
			return
		}
		fmt.Fprintln(w, "\nNothing to change.")
	case 1:
		fmt.Fprintln(w, "\n1 change. 'envwick reconcile --once' applies it.")
	default:
		fmt.Fprintf(w, "\n%d changes. 'envwick reconcile --once' applies them.\n", n)
	}
}

func countEnvs(p *reconciler.Plan) int {
	seen := map[string]bool{}
	for _, it := range p.Items {
		if !strings.Contains(it.Reason, "environment file removed") {
			seen[it.Name] = true
		}
	}
	return len(seen)
}

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	if s == "" {
		return "(empty repository)"
	}
	return s
}
