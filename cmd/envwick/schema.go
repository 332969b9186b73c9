package main

import (
	"github.com/spf13/cobra"

	"github.com/envwick/envwick/schemas"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of environment files",
		Long: `schema prints the JSON Schema of environment files, the one this binary
validates against, for editors and tools without network access. Files written
by envwick point editors at the published copy through their first line
('# yaml-language-server: $schema=...').`,
		Example: `  envwick schema > environment.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(schemas.EnvironmentJSON)
			return err
		},
	}
}
