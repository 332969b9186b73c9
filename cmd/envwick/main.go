// Command envwick gives a company self-serve test environments through git.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "envwick: under construction")
	os.Exit(1)
}
