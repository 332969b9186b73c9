package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/envwick/envwick/reconciler/licenses"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// newProvisionerSimCmd runs the embedded provisioner simulator on its own,
// for trying envwick or another provisioner client against a platform that
// behaves like the real one.
func newProvisionerSimCmd() *cobra.Command {
	var (
		listen, dataDir, apiKeyFile, logLevel, licenseDir string
		opts                                              provisionersim.Options
		timing                                            = provisionersim.DefaultTiming()
	)
	cmd := &cobra.Command{
		Use:   "provisioner-sim",
		Short: "Serve the provisioner simulator (the Mattermost Cloud provisioner API) on its own",
		Long: `provisioner-sim serves the embedded provisioner simulator: the Mattermost Cloud
provisioner REST API under /api, with the provisioner's state machine, webhooks,
name reservation and fault injection, and its own controls under /_sim
(faults, clock, forced states; see docs/provisioner.md).

State is kept in --data and survives restarts. The API key, if any, is read
from ENVWICK_SIM_API_KEY or --api-key-file and then required in x-api-key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			key, err := secret("ENVWICK_SIM_API_KEY", apiKeyFile)
			if err != nil {
				return fmt.Errorf("--api-key-file: %w", err)
			}
			if licenseDir != "" {
				// The simulator accepts the texts of the directory only.
				st, err := licenses.New(licenses.Options{Dir: licenseDir})
				if err != nil {
					return fmt.Errorf("--license-dir: %w", err)
				}
				opts.Licenses = licenseTexts(st)
				logger.Info("accepting the license texts of a directory", "names", st.Names())
			}
			opts.APIKey, opts.DataDir, opts.Timing, opts.Logger = key, dataDir, &timing, logger
			sim, err := provisionersim.New(opts)
			if err != nil {
				return err
			}
			url, err := sim.Start(listen)
			if err != nil {
				sim.Close()
				return err
			}
			logger.Info("provisioner simulator serving", "url", url, "data", dataDir, "api_key", key != "")
			fmt.Fprintln(cmd.OutOrStdout(), url)
			<-cmd.Context().Done()
			logger.Info("provisioner simulator stopping")
			return sim.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8075", "address to serve on")
	f.StringVar(&dataDir, "data", "", "directory keeping the state across restarts (empty: in memory only)")
	f.StringVar(&apiKeyFile, "api-key-file", "", "file holding the API key to require (or set ENVWICK_SIM_API_KEY)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&licenseDir, "license-dir", "", "folder of license texts (one file per name): only these are accepted, any other license is refused with 400")
	f.StringVar(&opts.InstallationURL, "installation-url", "", "URL of every installation (e.g. a local Mattermost server); default https://<DNS>")
	f.StringVar(&opts.Environment, "environment", "dev", "environment named in webhook payloads")
	f.BoolVar(&opts.DisableSupervisors, "disable-supervisors", false, "no automatic progression: states change only through the API (like the real --disable-all-supervisors)")
	f.BoolVar(&opts.Rules.DeployMySQLOperator, "deploy-mysql-operator", false, "accept the mysql-operator database")
	f.BoolVar(&opts.Rules.DeployMinioOperator, "deploy-minio-operator", false, "accept the minio-operator filestore")
	f.BoolVar(&opts.Rules.RequireAnnotations, "require-annotated-installations", false, "require at least one annotation on create")
	f.DurationVar(&opts.DeletionPendingTime, "deletion-pending-time", 3*time.Minute, "how long deleted installations stay in deletion-pending")
	f.DurationVar(&opts.NameReservation, "name-reservation", 24*time.Hour, "how long a deleted installation's name stays reserved (negative: not at all)")
	f.DurationVar(&timing.Creation, "creation-time", timing.Creation, "time from creation-requested to stable")
	f.DurationVar(&timing.Update, "update-time", timing.Update, "time from update-requested to stable")
	f.DurationVar(&timing.Hibernation, "hibernation-time", timing.Hibernation, "time from hibernation-requested to hibernating")
	f.DurationVar(&timing.WakeUp, "wakeup-time", timing.WakeUp, "time from wake-up-requested to stable")
	f.DurationVar(&timing.DeletionPendingPrep, "deletion-pending-prep-time", timing.DeletionPendingPrep, "time from deletion-pending-requested to deletion-pending")
	f.DurationVar(&timing.Deletion, "deletion-time", timing.Deletion, "time from deletion-requested to deleted")
	f.Float64Var(&opts.Faults.ErrorRate, "error-rate", 0, "fraction of API calls answered 503")
	f.Float64Var(&opts.Faults.CreationFailureRate, "creation-failure-rate", 0, "fraction of creations ending in creation-failed")
	f.Float64Var(&opts.Faults.UpdateFailureRate, "update-failure-rate", 0, "fraction of updates ending in update-failed")
	f.Var((*durationFlag)(&opts.Faults.Latency), "latency", "latency added to every API call")
	return cmd
}

// durationFlag lets a provisionersim.Duration be a flag.
type durationFlag provisionersim.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Type() string   { return "duration" }
func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	*d = durationFlag(v)
	return err
}
