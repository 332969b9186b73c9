package commit

import (
	"context"
	"strings"

	"github.com/envwick/envwick/envs"
)

// HousekeepingIdentity is who housekeeping commits are requested by: the
// Requested-by trailer of every hibernation and deletion the reconciler's
// housekeeping decides.
const HousekeepingIdentity = "envwick housekeeping"

// Housekeeping is one housekeeping decision to commit.
type Housekeeping struct {
	// Name is the environment.
	Name string
	// Delete removes the environment's file; otherwise it is hibernated.
	Delete bool
	// Rule is the rule and its figures, for the Source trailer, for example
	// "idle 7d, last activity 2026-11-20T10:02Z".
	Rule string
	// Message is the commit message; default "<Verb> environment <name>".
	Message string
}

// Housekeep commits a housekeeping decision like any other change (the
// result validated, the same trailers as bot commits, Requested-by
// HousekeepingIdentity and Source the rule), but no requester rule of the
// Policy applies. Re-applied on a newer head it reads the file again: a file
// deleted or broken since is left alone, and one already hibernated makes no
// commit.
func (c *Committer) Housekeep(ctx context.Context, h Housekeeping) (Result, error) {
	verb, want := "Hibernate", desire(func(cur *envs.Environment) (*envs.Environment, error) {
		return mutate(cur, []Mutation{SetState(envs.StateHibernated)})
	})
	if h.Delete {
		verb, want = "Delete", func(*envs.Environment) (*envs.Environment, error) { return nil, nil }
	}
	m := Meta{Login: HousekeepingIdentity, Source: h.Rule, Command: "housekeeping " + strings.ToLower(verb)}
	msg := h.Message
	if msg == "" {
		msg = message(verb, h.Name, m)
	}
	return c.commit(ctx, change{meta: m, name: h.Name, verb: verb, message: msg, want: want, housekeeping: true})
}

// Housekeeper commits the reconciler's housekeeping decisions through a
// Committer: it is the reconciler.Housekeeper cmd/envwick wires (the
// reconciler defines the interface and does not import the bots).
type Housekeeper struct{ Committer *Committer }

// Hibernate commits "state: hibernated" for name.
func (h Housekeeper) Hibernate(ctx context.Context, name, rule, message string) error {
	_, err := h.Committer.Housekeep(ctx, Housekeeping{Name: name, Rule: rule, Message: message})
	return err
}

// Delete commits the removal of name's file.
func (h Housekeeper) Delete(ctx context.Context, name, rule, message string) error {
	_, err := h.Committer.Housekeep(ctx, Housekeeping{Name: name, Delete: true, Rule: rule, Message: message})
	return err
}
