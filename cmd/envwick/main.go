// Command envwick gives a company self-serve test environments through git:
// bots commit environment YAML to an envs repository, and a reconciler makes
// the platform match it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var ec exitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "envwick:", msg)
			}
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "envwick:", err)
		os.Exit(1)
	}
}

// newRootCmd builds the command tree. Each subcommand lives in its own file
// as newXxxCmd and is added here.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "envwick",
		Short: "Self-serve test environments through git",
		Long: `envwick turns intent (a pull-request label, a /cloud chat command, a YAML file
edited in a pull request) into commits to an envs repository, and reconciles
those environments against the platform's provisioner.

Start with 'envwick dev' (what 'make run' does): a local envs repository and the
bundled provisioner simulator, nothing to configure.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return checkEnvFlags(cmd.Flags())
		},
	}
	root.AddCommand(
		// Subcommands are added here, one constructor per file.
		newValidateCmd(),
		newSchemaCmd(),
		newPlanCmd(),
		newStatusCmd(),
		newReconcileCmd(),
		newServeCmd(),
		newDevCmd(),
		newProvisionerSimCmd(),
		newMattermostCmd(),
		newTryCmd(),
	)
	return root
}

// exitCoder is an error that asks for a specific process exit code, such as
// 'plan' exiting 2 when something would change.
type exitCoder interface {
	error
	ExitCode() int
}

// exitError carries an exit code and an optional message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }
