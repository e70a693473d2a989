package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/shell"
	"github.com/firedrill-dev/firedrill/harness/stack"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// validateLive runs the runbook's commands on the drill cluster and prints findings and coverage.
func validateLive(cmd *cobra.Command, path string, rb *runbook.Runbook, flags clusterFlags, format string) error {
	ctx := cmd.Context()
	c, err := flags.connect(ctx)
	if err != nil {
		return err
	}
	id := "LIVE-" + time.Now().UTC().Format("20060102T150405Z")
	table, err := stack.Table(ctx, c.Clientset, id, "firedrill-validate")
	if err != nil {
		return fmt.Errorf("the AUREUS stack is not deployed as expected (%w): run 'make cluster-up'", err)
	}
	scratch, err := filepath.Abs(filepath.Join(flags.workDir, "live", id))
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch) // raw output; what matters is in the report, redacted
	runner, err := shell.New(shell.Config{
		Kubeconfig: c.Kubeconfig, Context: c.Context, Namespace: stack.Namespace, Scratch: scratch,
		ScriptDir: filepath.Dir(rb.Path), Table: table, DryRun: true,
	})
	if err != nil {
		return err
	}
	rep, err := validate.Live(ctx, rb, runner, table)
	if err != nil {
		return fmt.Errorf("validate --live %s: %w", path, err)
	}
	out := cmd.OutOrStdout()
	if format == "json" {
		err = validate.WriteJSON(out, rep)
	} else {
		err = validate.WriteLiveText(out, rep)
	}
	if err != nil {
		return err
	}
	if rep.HasErrors() {
		return &exitError{code: exitFindings, err: fmt.Errorf("%s: %s at error level; fix them before trusting this runbook", path, validate.Plural(rep.Errors, "finding"))}
	}
	return nil
}
