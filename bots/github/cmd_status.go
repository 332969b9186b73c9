package githubbot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/envwick/envwick/bots/command"
)

func (b *Bot) statusCommand() envSpec {
	return envSpec{Name: "status", Permission: command.Anyone, Run: b.cmdStatus,
		Summary: "show the test server's state, address, version and conditions, from the reconciler's last pass"}
}

func (b *Bot) cmdStatus(ctx context.Context, c *cmdContext) error {
	who := "@" + c.user.GetLogin()
	if b.status == nil {
		return b.fb.reply(ctx, c.ref, who+" status is not available from this bot; see the test server comment above.")
	}
	st, ok, err := b.status.EnvironmentStatus(ctx, c.ref.Name)
	if err != nil {
		return fmt.Errorf("reading status of %s: %w", c.ref.Name, err)
	}
	if !ok {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("%s there is no test server `%s`.", who, c.ref.Name))
	}
	var w strings.Builder
	fmt.Fprintf(&w, "%s test server `%s`:\n\n", who, c.ref.Name)
	if in := st.Installation; in != nil {
		fmt.Fprintf(&w, "- state: %s\n- address: %s\n- version: %s\n", orDash(in.State), orDash(in.URL), orDash(shortSHA(in.Version)))
	}
	for _, cond := range st.Conditions {
		fmt.Fprintf(&w, "- %s: %s (%s) %s\n", cond.Type, cond.Status, cond.Reason, oneLine(cond.Message))
	}
	if st.LastError != "" {
		fmt.Fprintf(&w, "- last error: %s\n", oneLine(st.LastError))
	}
	if st.DeleteAt != nil {
		fmt.Fprintf(&w, "- deleted at: %s\n", st.DeleteAt.UTC().Format(time.RFC1123))
	}
	return b.fb.reply(ctx, c.ref, w.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
