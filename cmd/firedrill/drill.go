package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/validate"
	"github.com/firedrill-dev/firedrill/scenarios/all"
)

// exitSystem means a drill ran and the system did not recover: the runbook may be fine.
const exitSystem = 3

func init() { subcommands = append(subcommands, newDrillCmd) }

func newDrillCmd() *cobra.Command {
	var (
		flags                                     clusterFlags
		runbookPath, config, ledgerPath, artifact string
		commander, approver                       string
		options, allowContexts                    []string
		kubeconfig, kubeContext                   string
		exhaustive, lastResort, literal           bool
	)
	cmd := &cobra.Command{
		Use:   "drill SCENARIO",
		Short: "Run one scenario of the runbook as a fire drill on the drill cluster",
		Long: `Inject the scenario's fault for real, observe its symptoms, run the runbook's mitigation options
(their own commands as written first, then the Go step when those fail), check recovery within the
severity's response time, write the evidence pack and record the drill in the ledger.

Ctrl-C or SIGTERM stops the drill and undoes everything it did; a second signal does not skip the
undo. If the process is killed, 'firedrill cleanup' replays the undo journal.

Exit codes: 0 drill passed, 1 drill passed but the runbook has error-level findings, 2 bad input,
3 the system did not recover (drill failed), 130/143 interrupted (undone).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput("drill needs one scenario: firedrill drill SCENARIO (see firedrill scenarios)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isDrillWorker() {
				return superviseDrill(cmd)
			}
			_, rb, err := loadRunbook(runbookPath, config)
			if err != nil {
				return err
			}
			impl, ok := all.ByName(args[0], artifact)
			if _, inRunbook := rb.ScenarioByName(args[0]); !ok || !inRunbook {
				var names []string
				for _, s := range rb.Scenarios {
					if slices.Contains(all.Names, s.Name) {
						names = append(names, s.Name)
					}
				}
				return badInput("unknown scenario %q: drillable scenarios of %s are %s", args[0], runbookPath, strings.Join(names, ", "))
			}
			c, err := cluster.Connect(flags.config())
			if err != nil {
				return badInput("no drill cluster (%v): run 'make cluster-up' first", err)
			}
			led, err := ledger.Open(ledgerPath)
			if err != nil {
				return badInput("cannot open ledger %s: %v", ledgerPath, err)
			}
			repo, err := filepath.Abs(flags.repoRoot)
			if err != nil {
				return err
			}

			// The first signal cancels the drill; the drill's cleanup runs on regardless. Later
			// signals are caught and ignored, so they cannot cut the cleanup short.
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			signals := make(chan os.Signal, 4)
			signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(signals)
			if os.Getenv(drillWorkerEnv) != "" {
				forwardControl(signals)
			}
			var caught atomic.Value // os.Signal
			go func() {
				for s := range signals {
					if caught.CompareAndSwap(nil, s) {
						fmt.Fprintf(cmd.ErrOrStderr(), "firedrill: %s: stopping the drill and undoing everything it did\n", s)
						cancel()
						continue
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "firedrill: %s again: the undo is still running and will finish\n", s)
				}
			}()

			out := cmd.OutOrStdout()
			start := time.Now()
			cfg := drill.Config{
				Cluster: c, Runbook: rb, Scenario: impl,
				WorkDir: flags.workDir, EvidenceRoot: filepath.Join(artifact, "evidence"),
				Commander: commander, AllowLastResort: lastResort, Options: options, Exhaustive: exhaustive,
				Literal: literal, Ledger: led, RepoRoot: repo, Log: newLogger(flags.verbosity),
				Progress: func(ev drill.Event) {
					line := fmt.Sprintf("[T+%s] %-11s %s", time.Since(start).Round(time.Second), ev.Phase, ev.What)
					if ev.Detail != "" {
						line += " — " + ev.Detail
					}
					fmt.Fprintln(out, line)
				},
			}
			if approver != "" {
				cfg.Approver = &drill.Approval{Who: approver, Role: "approver named with --approver", Why: "fire drill"}
			}
			res, runErr := drill.Run(ctx, cfg)
			if path, err := drill.WriteResult(filepath.Join(artifact, "results"), res); err == nil {
				fmt.Fprintln(out, "result:", path)
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "firedrill: cannot write the drill's result:", err)
			}
			errs := 0
			for _, f := range res.Findings {
				if f.Level == validate.Error {
					errs++
				}
			}
			fmt.Fprintf(out, "%s %s: passed=%t, %d runbook findings (%d errors), evidence %s, ledger record %d\n",
				res.ID, res.Scenario, res.Passed, len(res.Findings), errs, res.EvidenceDir, res.LedgerSeq)
			switch {
			case errors.Is(runErr, drill.ErrDrillInProgress):
				return badInput("%v", runErr)
			case errors.Is(runErr, drill.ErrUnhealthyBaseline):
				return &exitError{code: exitSystem, err: runErr}
			case caught.Load() != nil || errors.Is(runErr, context.Canceled):
				code := 130
				if caught.Load() == syscall.SIGTERM {
					code = 143
				}
				return &exitError{code: code, err: fmt.Errorf("drill %s interrupted; everything it did was undone (residue: %d)", res.ID, len(res.Residue))}
			case runErr != nil && res.Passed:
				// The drill recovered; recording it failed (ledger locked, disk full...).
				return badInput("drill %s passed, but %s", res.ID, oneLineErr(runErr))
			case runErr != nil:
				return &exitError{code: exitSystem, err: fmt.Errorf("drill %s failed: %s", res.ID, oneLineErr(runErr))}
			case errs > 0:
				return &exitError{code: exitFindings, err: fmt.Errorf("drill %s passed, but the runbook has %d error-level findings", res.ID, errs)}
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&runbookPath, "runbook", "fixtures/runbooks/incident-response.md", "the runbook")
	cmd.Flags().StringVar(&config, "config", "", "scenario config (default: RUNBOOK's name with .severity.yaml, if present)")
	cmd.Flags().StringVar(&ledgerPath, "ledger", ledger.DefaultPath, "the drill ledger (JSON Lines)")
	cmd.Flags().StringVar(&artifact, "artifacts", "artifacts", "where evidence packs and results go")
	cmd.Flags().StringVar(&commander, "commander", "firedrill-ic", "the drill's incident commander")
	cmd.Flags().StringVar(&approver, "approver", "", "who approves options marked REQUIRES APPROVAL (skipped without one)")
	cmd.Flags().StringSliceVar(&options, "option", nil, "drill only these option letters")
	cmd.Flags().BoolVar(&exhaustive, "exhaustive", false, "run every option even after service is back")
	cmd.Flags().BoolVar(&lastResort, "allow-last-resort", false, "let options marked LAST RESORT or data risk run")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "drill on an existing cluster: its kubeconfig file (instead of the kind cluster)")
	cmd.Flags().StringVar(&kubeContext, "context", "", "with --kubeconfig: the context (default: the file's current one)")
	cmd.Flags().StringSliceVar(&allowContexts, "allow-context", nil, "with --kubeconfig: contexts drills may act on; any other is refused")
	cmd.Flags().BoolVar(&literal, "literal", true, "run each option's runbook commands as written first")
	return cmd
}

func oneLineErr(err error) string {
	return strings.Join(slices.DeleteFunc(strings.Split(err.Error(), "\n"), func(s string) bool { return strings.TrimSpace(s) == "" }), "; ")
}
