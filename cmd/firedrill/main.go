// Command firedrill proves an incident-response runbook works: it validates the runbook, runs its
// failure scenarios as drills on a kind cluster, and reports when each was last tested.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0
	exitFindings = 1 // the runbook or a drill is broken
	exitBadInput = 2 // the user must fix an argument, a file or the machine
)

// subcommands is filled by each command's file, so commands stay independent of each other.
var subcommands []func() *cobra.Command

// exitError carries the exit code a subcommand wants; its message is printed on one line.
type exitError struct {
	code int
	err  error
}

// An exitError without err exits silently: the message was printed already.
func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &exitError{code: exitBadInput, err: fmt.Errorf(format, args...)}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "firedrill",
		Short:         "Fire drills that prove an incident-response runbook works",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	return root
}

func main() {
	superviseDrills = true
	line, code := outcome(newRootCmd().Execute())
	if line != "" {
		fmt.Fprintln(os.Stderr, line)
	}
	os.Exit(code)
}

// outcome is the line main prints for err and the exit code it uses. The line is one line whatever
// the error: joined and wrapped errors (kind's, docker's, errors.Join) can span several.
func outcome(err error) (string, int) {
	if err == nil {
		return "", exitOK
	}
	line := "firedrill: " + oneLineErr(err)
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.err == nil {
			return "", exit.code
		}
		return line, exit.code
	}
	return line, exitBadInput
}
