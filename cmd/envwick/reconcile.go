package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

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
housekeeping commits. It prints the plan, then what it did. With --dry-run it
plans without acting (like 'plan'). For the long-running service use
'envwick serve'.`,
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
			printPlan(out, res.Plan, "")
			if dryRun {
				printPlanFooter(out, res.Plan)
				fmt.Fprintln(out, "\nDry run: nothing was changed.")
				return nil
			}
			printDone(out, res)
			if len(res.Errors) > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%s failed; the next pass retries them", plural(len(res.Errors), "change"))}
			}
			return nil
		},
	}
	cfg.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&once, "once", false, "run one pass and exit")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "observe and plan without acting")
	return cmd
}

// doneVerbs says what an applied action did, in the past tense.
var doneVerbs = map[reconciler.Action]string{
	reconciler.ActionCreate: "created", reconciler.ActionUpdate: "updated", reconciler.ActionHibernate: "hibernated",
	reconciler.ActionWakeUp: "woke up", reconciler.ActionDelete: "deleted", reconciler.ActionAdopt: "adopted",
}

// printDone says what a pass did: the changes made by kind, those held
// back or failed, the status commit and the housekeeping commits.
func printDone(w io.Writer, res *reconciler.Result) {
	done := map[reconciler.Action][]string{}
	held := 0
	for _, it := range res.Plan.Items {
		switch {
		case !it.Action.Changes():
		case it.Blocked:
			held++
		case res.Errors[errorKey(it)] != nil:
		default:
			done[it.Action] = append(done[it.Action], it.Name)
		}
	}
	var parts []string
	for _, a := range []reconciler.Action{reconciler.ActionCreate, reconciler.ActionUpdate, reconciler.ActionHibernate,
		reconciler.ActionWakeUp, reconciler.ActionDelete, reconciler.ActionAdopt} {
		if names := done[a]; len(names) > 0 {
			parts = append(parts, doneVerbs[a]+" "+strings.Join(names, ", "))
		}
	}
	fmt.Fprintln(w)
	if len(parts) == 0 {
		fmt.Fprintln(w, "Done: no change was needed.")
	} else {
		fmt.Fprintf(w, "Done: %s.\n", strings.Join(parts, "; "))
	}
	if held > 0 {
		fmt.Fprintf(w, "Held back by the mass-deletion guard: %s.\n", plural(held, "deletion"))
	}
	names := make([]string, 0, len(res.Errors))
	for n := range res.Errors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  failed %s: %v\n", n, res.Errors[n])
	}
	if res.StatusWritten {
		fmt.Fprintln(w, "Status recorded on the envwick/status branch.")
	} else {
		fmt.Fprintln(w, "Status unchanged: nothing recorded.")
	}
	if res.Housekept > 0 {
		fmt.Fprintf(w, "%s made.\n", plural(res.Housekept, "housekeeping commit"))
	}
}

// errorKey is how Result.Errors names an item: a deletion by environment
// and installation, as one environment may have several.
func errorKey(it reconciler.Item) string {
	if it.Action == reconciler.ActionDelete && it.Installation != nil {
		return it.Name + "/" + it.Installation.ID
	}
	return it.Name
}
