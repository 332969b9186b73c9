package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/reconciler/dashboard"
)

func newStatusCmd() *cobra.Command {
	var cfg systemConfig
	var output, owner, state string
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show every environment's recorded state, or one environment in full",
		Long: `status reads the envs repository and its status branch (envwick/status) and
prints the fleet: one line per environment with its state, Ready reason,
owner, source, URL, version, age and next housekeeping action. With a
name it prints that environment's conditions, status history and the git
history of its file. It changes nothing and needs no provisioner.

The fleet can be narrowed with --owner and --state; -o json and -o yaml
print what the dashboard's /api/v1/environments answers.
With no flags it reads the repository of a running 'envwick dev'.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{"table", "json", "yaml"}, output) {
				return fmt.Errorf("-o must be table, json or yaml, not %q", output)
			}
			if state != "" && !slices.Contains(dashboard.States, state) {
				return fmt.Errorf("--state %q: use one of %s", state, strings.Join(dashboard.States, ", "))
			}
			ctx := cmd.Context()
			log, err := cfg.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			repo, err := cfg.openRepo(ctx, log, "status")
			if err != nil {
				return err
			}
			defer repo.Close()
			d, err := dashboard.New(dashboard.Options{Repo: repo, RepoURL: webURLOnly(cfg.RepoURL), Logger: log})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				det, err := d.Environment(ctx, args[0])
				if errors.Is(err, dashboard.ErrNotFound) {
					return fmt.Errorf("no environment named %q: no file and no recorded status", args[0])
				}
				if err != nil {
					return err
				}
				if output == "table" {
					printEnvironment(out, det, time.Now())
					return nil
				}
				return encode(out, output, det)
			}
			list, err := d.List(ctx, dashboard.Query{Owner: owner, State: state, Page: 1, PerPage: math.MaxInt32})
			if err != nil {
				return err
			}
			if output == "table" {
				printFleet(out, list, time.Now())
				return nil
			}
			return encode(out, output, list)
		},
	}
	cfg.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	cmd.Flags().StringVar(&owner, "owner", "", "only environments of this owner (GitHub login, Mattermost username or email)")
	cmd.Flags().StringVar(&state, "state", "", "only environments in this state: "+strings.Join(dashboard.States, ", "))
	return cmd
}

func encode(w io.Writer, format string, v any) error {
	if format == "yaml" {
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printFleet writes the fleet table and the counts by state.
func printFleet(w io.Writer, l *dashboard.List, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tREADY\tOWNER\tSOURCE\tVERSION\tAGE\tNEXT\tURL")
	for _, e := range l.Items {
		next := ""
		if e.Next != nil {
			next = e.Next.Action + " " + relTime(now, &e.Next.At)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.State, e.ReadyReason(), e.OwnerName(), e.Source.Label, e.Version, relTime(now, e.CreatedAt), next, e.URL)
	}
	tw.Flush()
	var counts []string
	for _, s := range dashboard.States {
		if n := l.Counts[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(w, "\n%d of %d environments (fleet: %s) at %s, status %s\n", l.Matched, l.Total, strings.Join(counts, ", "), shortSHA(l.Commit), shortSHA(l.StatusCommit))
}

// printEnvironment writes one environment: facts, conditions, status
// history and the history of its file.
func printEnvironment(w io.Writer, d *dashboard.Detail, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("Name:", d.Name)
	row("State:", d.State)
	row("File:", d.Path)
	row("Owner:", d.OwnerName())
	row("Source:", strings.TrimSpace(d.Source.Label+" "+d.Source.URL))
	row("URL:", d.URL)
	row("Installation:", strings.TrimSpace(d.Installation+" "+d.InstallationState))
	row("Size:", d.Size)
	row("Version:", d.Version)
	row("Created:", relTime(now, d.CreatedAt))
	row("Last activity:", relTime(now, d.LastActivity))
	if d.Next != nil {
		row("Next:", d.Next.Action+" "+relTime(now, &d.Next.At)+" ("+d.Next.At.Format(time.RFC3339)+")")
	}
	row("Expires:", relTime(now, d.ExpiresAt))
	row("Error:", d.Error)
	tw.Flush()

	section := func(title string, header string, lines [][]string) {
		fmt.Fprintf(w, "\n%s:\n", title)
		if len(lines) == 0 {
			fmt.Fprintln(w, "  (none)")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+header)
		for _, l := range lines {
			fmt.Fprintln(tw, "  "+strings.Join(l, "\t"))
		}
		tw.Flush()
	}
	var conds [][]string
	for _, c := range d.Conditions {
		conds = append(conds, []string{c.Type, c.Status, c.Reason, relTime(now, &c.LastTransitionTime), c.Message})
	}
	section("Conditions", "TYPE\tSTATUS\tREASON\tSINCE\tMESSAGE", conds)
	var hist [][]string
	for _, h := range d.StatusHistory {
		hist = append(hist, []string{h.When.Format(time.RFC3339), orNone(h.From) + " -> " + orNone(h.To), h.Reason, shortSHA(h.Commit), h.Message})
	}
	section("Status history", "WHEN\tCHANGE\tREASON\tCOMMIT\tMESSAGE", hist)
	var log [][]string
	for _, c := range d.History {
		log = append(log, []string{c.When.Format(time.RFC3339), shortSHA(c.Commit), c.Author, c.Subject, c.RequestedBy, c.Source, c.Command})
	}
	section("History of "+d.Path, "WHEN\tCOMMIT\tAUTHOR\tSUBJECT\tREQUESTED-BY\tSOURCE\tCOMMAND", log)
	if d.HistoryMore {
		fmt.Fprintln(w, "  (older commits left out)")
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// relTime is a time as a person reads it next to now: "3h ago", "in 2d".
func relTime(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	d := now.Sub(*t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if suffix == "" {
		return "in " + s
	}
	return s + suffix
}
