package main

import (
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/envwick/envwick/reconciler"
)

func newReconcileCmd() *cobra.Command {
	var cfg systemConfig
	var once, dryRun bool
	cmd := &cobra.Command{
		Use:   "reconcile --once",
		Short: "Run one reconcile pass and exit",
		Long: `reconcile runs one pass: load the environments, observe the installations
envwick owns, plan, apply, record status on the envwick/status branch, and make
housekeeping commits. With --dry-run it plans without acting (like 'plan').
For the long-running service use 'envwick serve'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return errors.New("reconcile needs --once; 'envwick serve' runs passes continuously")
			}
			sys, err := buildSystem(cmd.Context(), &cfg, cmd.ErrOrStderr(), "reconcile")
			if err != nil {
				return err
			}
			defer sys.Close()
			res, err := sys.Reconciler.Pass(cmd.Context(), reconciler.PassOptions{DryRun: dryRun, AllowMassDeletion: cfg.AllowMassDeletion})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			printPlan(out, res.Plan)
			if dryRun {
				fmt.Fprintln(out, "\nDry run: nothing was changed.")
				return nil
			}
			fmt.Fprintf(out, "\nApplied. Status written: %v. Housekeeping commits: %d.\n", res.StatusWritten, res.Housekept)
			if len(res.Errors) > 0 {
				names := make([]string, 0, len(res.Errors))
				for n := range res.Errors {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintf(out, "  failed %s: %v\n", n, res.Errors[n])
				}
				return &exitError{code: 1, msg: fmt.Sprintf("%d changes failed; the next pass retries them", len(res.Errors))}
			}
			return nil
		},
	}
	cfg.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&once, "once", false, "run one pass and exit")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "observe and plan without acting")
	return cmd
}
