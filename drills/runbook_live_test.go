package drills

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/shell"
	"github.com/firedrill-dev/firedrill/harness/stack"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// The runbook under test runs its own commands on the drill cluster (validate --live).
var _ = Describe("Runbook commands run on the drill cluster", Label("cluster", "runbook"), func() {
	live := func(ctx SpecContext, path string) (validate.LiveReport, shell.Table) {
		var opts []runbook.ParseOption
		if _, err := os.Stat(runbook.ConfigPathFor(path)); err == nil {
			opts = append(opts, runbook.WithConfigFile(runbook.ConfigPathFor(path)))
		}
		rb, err := runbook.Load(path, opts...)
		Expect(err).NotTo(HaveOccurred())
		table, err := stack.Table(ctx, testCluster.Clientset, "LIVE-TEST", commander)
		Expect(err).NotTo(HaveOccurred())
		runner, err := shell.New(shell.Config{
			Kubeconfig: testCluster.Kubeconfig, Namespace: stack.Namespace, Scratch: GinkgoT().TempDir(),
			ScriptDir: filepath.Dir(path), Table: table, DryRun: true,
		})
		Expect(err).NotTo(HaveOccurred())
		rep, err := validate.Live(ctx, rb, runner, table)
		Expect(err).NotTo(HaveOccurred())
		return rep, table
	}
	liveFindings := func(rep validate.LiveReport) map[int]validate.Finding {
		out := map[int]validate.Finding{}
		for _, f := range rep.Findings {
			if strings.HasPrefix(f.Check, "live-") {
				Expect(out).NotTo(HaveKey(f.Line), "one live finding per command")
				out[f.Line] = f
			}
		}
		return out
	}
	noSecrets := func(rep validate.LiveReport, table shell.Table) {
		data, err := json.Marshal(rep)
		Expect(err).NotTo(HaveOccurred())
		for _, secret := range table.SecretValues() {
			Expect(string(data)).NotTo(ContainSubstring(secret))
		}
	}

	It("finds every command broken on purpose, and nothing in its correct twin", func(ctx SpecContext) {
		broken, table := live(ctx, filepath.Join(repoRoot, "fixtures/runbooks/live/broken.md"))
		got := liveFindings(broken)
		want := map[int]string{
			15: "unknown flag: --selectr",                     // wrong flag
			18: `deployments.apps "aureus-frontnd" not found`, // wrong resource name
			21: "names nothing that exists",                   // wrong label
			24: "Failed to connect to localhost port 5001",    // wrong port
			27: "script not found",                            // missing script
			30: "container frontnd is not valid",              // wrong container
			33: "/app/evidense: No such file or directory",    // wrong path
			39: `deployments.apps "aureus-frontnd" not found`, // wrong target of a mutation, checked without mutating
		}
		Expect(got).To(HaveLen(len(want)), "findings: %v", got)
		for line, reason := range want {
			Expect(got).To(HaveKey(line))
			Expect(got[line].Level).To(Equal(validate.Error))
			Expect(got[line].Reason).To(ContainSubstring(reason), "line %d", line)
			Expect(got[line].Evidence).NotTo(BeEmpty(), "line %d carries its output", line)
		}
		noSecrets(broken, table)

		correct, _ := live(ctx, filepath.Join(repoRoot, "fixtures/runbooks/live/correct.md"))
		Expect(liveFindings(correct)).To(BeEmpty())
		Expect(correct.Errors+correct.Warnings).To(BeZero(), "findings: %v", correct.Findings)
		for _, c := range correct.Coverage {
			Expect(c.Check).To(BeElementOf(validate.CheckExecuted, validate.CheckDryRun), "line %d is checked by running it", c.Line)
		}
	})

	It("reveals what only execution shows in the AUREUS runbook, with a coverage row for every command", func(ctx SpecContext) {
		rep, table := live(ctx, runbookPath)
		got := liveFindings(rep)
		Expect(got).To(HaveKeyWithValue(144, HaveField("Reason", ContainSubstring("unknown shorthand flag: 'l'"))), "kubectl exec has no -l")
		Expect(got).To(HaveKeyWithValue(137, HaveField("Reason", ContainSubstring(`Protocol "postgres" not supported`))))
		Expect(got).To(HaveKeyWithValue(185, HaveField("Reason", ContainSubstring("expanded by the local shell"))))
		Expect(got).To(HaveKeyWithValue(221, HaveField("Check", "live-nothing-found")), "no policy-engine pods")
		Expect(got).To(HaveKeyWithValue(195, HaveField("Reason", ContainSubstring("only dynamically provisioned pvc can be resized"))))
		Expect(got).To(HaveKeyWithValue(192, HaveField("Reason", ContainSubstring("script not found"))))

		commands := 0
		for _, b := range rb.Blocks {
			if b.Shell() {
				commands += len(b.Commands)
			}
		}
		rows := 0
		for _, c := range rep.Coverage {
			if c.Command != "(block)" {
				rows++
			}
			Expect(c.Check).NotTo(BeEmpty())
			if c.Check != validate.CheckExecuted && c.Check != validate.CheckDryRun {
				Expect(c.Why).NotTo(BeEmpty(), "line %d says why it was not run", c.Line)
			}
		}
		Expect(rows).To(Equal(commands), "nothing silently unchecked")
		noSecrets(rep, table)
	})

	// kubectl wait and rollout status watch on a context of their own; the runner must still stop
	// waiting at its timeout, or one pasted command stalls a drill until the progress deadline.
	It("stops waiting for a kubectl command that ignores cancellation", func(ctx SpecContext) {
		runner, err := shell.New(shell.Config{
			Kubeconfig: testCluster.Kubeconfig, Namespace: stack.Namespace, Scratch: GinkgoT().TempDir(),
			Table: shell.Table{}, Timeout: 2 * time.Second,
		})
		Expect(err).NotTo(HaveOccurred())
		out := runner.Run(ctx, runbook.Command{Line: 1,
			Text: "kubectl wait --for=condition=NeverTrue pod -l component=frontend -n aureus --timeout=1h"})
		Expect(out.Status).To(Equal(shell.TimedOut), "%+v", out)
		Expect(out.Reason).To(Equal("still running after 2s"))
		// The runner is usable again, and what the abandoned kubectl prints later goes nowhere.
		next := runner.Run(ctx, runbook.Command{Line: 2, Text: "kubectl get deployment aureus-frontend -n aureus -o name"})
		Expect(next.Status).To(Equal(shell.Succeeded), "%+v", next)
		Expect(next.Stdout).To(Equal("deployment.apps/aureus-frontend\n"))
	}, SpecTimeout(2*time.Minute))
})
