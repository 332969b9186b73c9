package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/envwick/envwick/reconciler/platform"
)

// MmctlCommand is an mmctl subcommand people may run in their
// environments through Exec.
type MmctlCommand struct {
	// Path is the subcommand, its words separated by a space.
	Path string
	// Admin marks a subcommand only admins may run: it changes the server,
	// or shows settings that hold credentials.
	Admin bool
	// Summary says what it does.
	Summary string
}

// mmctlCommands is the allow-list of Exec, read only. Anything else
// (license, which would show the license text; user delete; database
// commands) is refused.
var mmctlCommands = []MmctlCommand{
	{Path: "version", Summary: "the mmctl and server versions"},
	{Path: "system status", Summary: "the server's health"},
	{Path: "system version", Summary: "the server version"},
	{Path: "team list", Summary: "teams"},
	{Path: "team search", Summary: "find teams"},
	{Path: "channel list", Summary: "channels of a team"},
	{Path: "channel search", Summary: "find a channel"},
	{Path: "user list", Summary: "users"},
	{Path: "user search", Summary: "find users"},
	{Path: "plugin list", Summary: "installed plugins"},
	{Path: "post list", Summary: "recent posts of a channel"},
	{Path: "command list", Summary: "slash commands"},
	{Path: "config get", Admin: true, Summary: "one setting (settings may hold credentials)"},
	{Path: "config show", Admin: true, Summary: "the whole configuration"},
	{Path: "config set", Admin: true, Summary: "change a setting"},
	{Path: "config reload", Admin: true, Summary: "reload the configuration"},
	{Path: "user create", Admin: true, Summary: "create a user"},
	{Path: "user activate", Admin: true, Summary: "activate users"},
	{Path: "user deactivate", Admin: true, Summary: "deactivate users"},
	{Path: "team create", Admin: true, Summary: "create a team"},
	{Path: "channel create", Admin: true, Summary: "create a channel"},
	{Path: "plugin enable", Admin: true, Summary: "enable plugins"},
	{Path: "plugin disable", Admin: true, Summary: "disable plugins"},
	{Path: "sampledata", Admin: true, Summary: "load more sample data"},
}

// MaxExecOutput is the most output Exec returns, in bytes; more is cut.
const MaxExecOutput = 4000

// Limits on what a person passes to Exec.
const (
	maxExecArgs   = 32
	maxExecArgLen = 512
)

// Errors of Exec, each wrapped with what was asked.
var (
	ErrUnknownEnvironment = errors.New("unknown environment")
	ErrExecNotAllowed     = errors.New("not an allowed mmctl command")
	ErrExecAdminOnly      = errors.New("only admins may run this mmctl command")
	ErrExecUnsupported    = errors.New("this platform cannot run commands in an installation")
)

// ExecRequest is one mmctl command a person runs in an environment.
type ExecRequest struct {
	// Environment is the environment name.
	Environment string
	// Args are mmctl's arguments: the subcommand and its arguments and
	// flags ("user", "list", "--all").
	Args []string
	// Admin says the person is an admin (admin-only subcommands).
	Admin bool
}

// ExecResult is what a command printed.
type ExecResult struct {
	// Command is the command as run, for people.
	Command string
	// Output is what it printed, cut to MaxExecOutput.
	Output string
	// Truncated is set when output was cut.
	Truncated bool
	// Failed is set when the command ran and failed (Output says why).
	Failed bool
}

// Exec runs an allowed mmctl command in the environment's installation,
// through the platform's exec capability, in local mode. Whether the
// person may act on the environment (owner, admin) is the caller's rule;
// Exec enforces the allow-list and the admin-only subcommands. Arguments
// are never logged (user create takes a password).
func (r *Reconciler) Exec(ctx context.Context, req ExecRequest) (*ExecResult, error) {
	cmd, err := allowedMmctl(req.Args, req.Admin)
	if err != nil {
		return nil, err
	}
	ex, ok := r.ext.platform.(platform.Executor)
	if !ok {
		return nil, ErrExecUnsupported
	}
	st := r.StatusOf(req.Environment)
	if st == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownEnvironment, req.Environment)
	}
	inst := st.Status.Installation
	if inst == nil || inst.ID == "" {
		return nil, fmt.Errorf("environment %s: %w", req.Environment, errNoInstallation)
	}
	switch platform.Phase(inst.Phase) {
	case platform.PhaseHibernated, platform.PhaseHibernating, platform.PhaseDeleting, platform.PhaseCreating:
		return nil, fmt.Errorf("environment %s is %s: %w", req.Environment, inst.State, platform.ErrNotRunning)
	}
	args := slices.Clone(req.Args)
	if !slices.Contains(args, "--local") {
		args = append(args, "--local")
	}
	var out []byte
	err = r.ext.call(ctx, "exec", func(ctx context.Context) (err error) {
		out, err = ex.Exec(ctx, inst.ID, "mmctl", args)
		return err
	})
	r.cfg.Logger.InfoContext(ctx, "mmctl run", "environment", req.Environment, "installation", inst.ID, "command", cmd.Path, "ok", err == nil)
	res := &ExecResult{Command: "mmctl " + strings.Join(args, " ")}
	switch {
	case errors.Is(err, platform.ErrExecFailed):
		res.Failed = true
	case err != nil:
		return nil, fmt.Errorf("running mmctl %s in %s: %w", cmd.Path, req.Environment, err)
	}
	res.Output, res.Truncated = trimOutput(string(out), MaxExecOutput)
	return res, nil
}

// allowedMmctl finds the allow-list entry of args and checks the
// arguments' bounds.
func allowedMmctl(args []string, admin bool) (MmctlCommand, error) {
	if len(args) == 0 {
		return MmctlCommand{}, fmt.Errorf("%w: name one of %s", ErrExecNotAllowed, mmctlPaths(admin))
	}
	if len(args) > maxExecArgs {
		return MmctlCommand{}, fmt.Errorf("too many arguments (%d, at most %d)", len(args), maxExecArgs)
	}
	for _, a := range args {
		if len(a) > maxExecArgLen || strings.ContainsAny(a, "\x00\n\r") {
			return MmctlCommand{}, fmt.Errorf("an argument is longer than %d bytes or holds a line break", maxExecArgLen)
		}
	}
	var found *MmctlCommand
	for i := range mmctlCommands {
		c := &mmctlCommands[i]
		words := strings.Fields(c.Path)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) && (found == nil || len(c.Path) > len(found.Path)) {
			found = c
		}
	}
	if found == nil {
		return MmctlCommand{}, fmt.Errorf("%w: mmctl %s; allowed: %s", ErrExecNotAllowed, strings.Join(args[:min(2, len(args))], " "), mmctlPaths(admin))
	}
	if found.Admin && !admin {
		return MmctlCommand{}, fmt.Errorf("%w: mmctl %s", ErrExecAdminOnly, found.Path)
	}
	return *found, nil
}

// mmctlPaths lists the subcommands someone may run.
func mmctlPaths(admin bool) string {
	var out []string
	for _, c := range mmctlCommands {
		if admin || !c.Admin {
			out = append(out, c.Path)
		}
	}
	return strings.Join(out, ", ")
}

// trimOutput cuts s to at most max bytes at a character boundary.
func trimOutput(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s, false
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}
