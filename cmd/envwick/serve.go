package main

import (
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var cfg systemConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the reconciler continuously, with metrics, health and webhooks",
		Long: `serve runs reconcile passes periodically and at once on a commit made in this
process, a GitHub push webhook (POST /webhooks/github, HMAC-verified with
ENVWICK_WEBHOOK_SECRET) or a provisioner state change (POST
/webhooks/provisioner; registered with the provisioner when --public-url is
set). It serves Prometheus metrics on /metrics, /healthz and /readyz, and logs
JSON to stderr. Every flag has an ENVWICK_* environment variable.

With --leader-elect, replicas share a coordination.k8s.io/v1 Lease: only its
holder runs passes and housekeeping, every replica serves webhooks, slash
commands and the dashboard. On SIGTERM the leader abandons its pass and
releases the Lease.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return runSystem(ctx, &cfg, cmd.ErrOrStderr(), "serve", func(sys *System, url string) {
				sys.Logger.Info("serving", "url", url, "metrics", url+"/metrics")
				// With --leader-elect the leader registers it.
				if cfg.PublicURL != "" && !cfg.Leader.Enabled {
					if err := sys.registerProvisionerWebhook(ctx, cfg.PublicURL); err != nil {
						sys.Logger.Warn("registering the provisioner webhook failed; periodic passes still follow the platform", "error", err)
					}
				}
			}, nil)
		},
	}
	cfg.addServeFlags(cmd.Flags(), "127.0.0.1:8080")
	waitByDefault(cmd.Flags())
	cfg.Leader.addFlags(cmd.Flags())
	return cmd
}
