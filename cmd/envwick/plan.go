package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/envwick/envwick/reconciler"
)

func newPlanCmd() *cobra.Command {
	var cfg systemConfig
	var output string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a reconcile pass would do, changing nothing",
		Long: `plan reads the envs repository and the provisioner, and prints per environment
what a reconcile pass would do (create, update, hibernate, wake up, delete,
adopt, nothing) and which housekeeping commits it would make. It changes
nothing: no provisioner calls that change anything, no commits.

Exit status: 0 when nothing would change, 2 when something would, 1 on error.
With no flags it plans against a running 'envwick dev'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o must be text or json, not %q", output)
			}
			sys, err := buildSystem(cmd.Context(), &cfg, cmd.ErrOrStderr(), "plan")
			if err != nil {
				return err
			}
			defer sys.Close()
			p, err := sys.Reconciler.Plan(cmd.Context())
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
				printPlan(out, p)
			}
			if p.Changes() > 0 {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	cfg.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// printPlan writes a plan for a person: one line per environment, then the
// housekeeping commits, then a summary.
func printPlan(w io.Writer, p *reconciler.Plan) {
	fmt.Fprintf(w, "Plan at commit %s: %d environments, %d owned installations\n\n", shortSHA(p.Commit), countEnvs(p), p.Owned)
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", action, it.Name, state, it.Reason)
	}
	tw.Flush()
	if len(p.Housekeeping) > 0 {
		fmt.Fprintln(w, "\nHousekeeping commits:")
		for _, h := range p.Housekeeping {
			fmt.Fprintf(w, "  %s %s: %s\n", h.Action, h.Name, h.Reason)
		}
	}
	if p.Guard != "" {
		fmt.Fprintf(w, "\nMass-deletion guard: %s\n", p.Guard)
	}
	n := p.Changes()
	switch n {
	case 0:
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
