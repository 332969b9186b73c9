// Command gen writes schemas/environment.schema.json from the Go types in
// package envs ('make schema' runs it from the repository root).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/envwick/envwick/schemas"
)

func main() {
	src := flag.String("envs", "envs", "directory of the envs package, for doc comments")
	out := flag.String("o", "schemas/environment.schema.json", "file to write; - for standard output")
	flag.Parse()
	b, err := schemas.Generate(os.DirFS(*src))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *out == "-" {
		_, err = os.Stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
