// Package drills runs the runbook's failure scenarios as fire drills on the kind cluster.
// Run one with `make drill SCENARIO=policy`, all with `make drills`.
package drills

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// Settings from the environment, as the Makefile passes them.
var (
	repoRoot    = envOr("FIREDRILL_REPO", "..")
	runbookPath = envOr("RUNBOOK", filepath.Join(repoRoot, "fixtures/runbooks/incident-response.md"))
	workDir     = envOr("FIREDRILL_WORK_DIR", filepath.Join(repoRoot, ".work"))
	commander   = envOr("DRILL_COMMANDER", "firedrill-ic")
	approver    = envOr("DRILL_APPROVER", "firedrill-security")
	// artifacts holds evidence packs and results/<id>.json, which 'firedrill html' renders.
	artifacts = envOr("ARTIFACTS", filepath.Join(repoRoot, "artifacts"))
)

// rb is loaded while the spec tree is built, so labels can carry each scenario's severity.
var rb = mustLoadRunbook()

var (
	testCluster *cluster.Cluster
	drillLedger *ledger.Ledger
)

func TestDrills(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "firedrill drills")
}

var _ = BeforeSuite(func() {
	var err error
	if existing := os.Getenv("FIREDRILL_KUBECONFIG"); existing != "" {
		// Staging: a cluster firedrill did not create, only on an explicitly allowed context.
		testCluster, err = cluster.ConnectExisting(cluster.ExistingConfig{
			Kubeconfig: existing,
			Context:    os.Getenv("FIREDRILL_CONTEXT"),
			Allowed:    strings.FieldsFunc(os.Getenv("FIREDRILL_ALLOW_CONTEXTS"), func(r rune) bool { return r == ',' }),
		})
		Expect(err).NotTo(HaveOccurred())
	} else {
		testCluster, err = cluster.Connect(cluster.Config{
			Name:       envOr("FIREDRILL_CLUSTER", cluster.DefaultName),
			Kubeconfig: filepath.Join(workDir, "kubeconfig"),
			Log:        GinkgoLogr,
		})
		Expect(err).NotTo(HaveOccurred(), "the drill cluster must be up: run 'make cluster-up'")
	}
	drillLedger, err = ledger.Open(envOr("LEDGER", filepath.Join(repoRoot, ledger.DefaultPath)))
	Expect(err).NotTo(HaveOccurred())
})

func mustLoadRunbook() *runbook.Runbook {
	r, err := runbook.Load(runbookPath, runbook.WithConfigFile(runbook.ConfigPathFor(runbookPath)))
	if err != nil {
		panic(fmt.Sprintf("load runbook %s: %v", runbookPath, err))
	}
	return r
}

// labelsFor gives a scenario's labels: drill, scenario:<name>, severity:<level>.
func labelsFor(name string) Labels {
	s, ok := rb.ScenarioByName(name)
	if !ok {
		panic(fmt.Sprintf("runbook %s has no scenario %q", runbookPath, name))
	}
	return Label("drill", "scenario:"+name, "severity:"+s.Severity)
}

// drillConfig is the configuration every drill shares.
func drillConfig(s drill.Scenario) drill.Config {
	start := time.Now()
	return drill.Config{
		Cluster:      testCluster,
		Runbook:      rb,
		Scenario:     s,
		WorkDir:      workDir,
		EvidenceRoot: filepath.Join(artifacts, "evidence"),
		Commander:    commander,
		Approver: &drill.Approval{
			Who:  commander + " + " + approver,
			Role: "Incident Commander + Security Team",
			Why:  "fire drill: exercising the runbook's approval path",
		},
		Progress: func(ev drill.Event) {
			fmt.Fprintf(GinkgoWriter, "[T+%s] %-11s %s", ev.At.Sub(start).Round(time.Second), ev.Phase, ev.What)
			if ev.Detail != "" {
				fmt.Fprintf(GinkgoWriter, " — %s", ev.Detail)
			}
			fmt.Fprintln(GinkgoWriter)
		},
		// The runbook's own mitigation commands run first, as written; FIREDRILL_LITERAL=false drills the Go steps only.
		Literal:  os.Getenv("FIREDRILL_LITERAL") != "false",
		Ledger:   drillLedger,
		RepoRoot: repoRoot,
		Log:      GinkgoLogr,
	}
}

// recordResult reports a drill's result in the suite's report and writes it to
// <artifacts>/results/<id>.json for 'firedrill html'. A drill that failed before it had an id
// has nothing to write.
func recordResult(res drill.Result) {
	GinkgoHelper()
	AddReportEntry("drill", res)
	if res.ID == "" {
		return
	}
	path, err := drill.WriteResult(filepath.Join(artifacts, "results"), res)
	Expect(err).NotTo(HaveOccurred(), "write the drill's result for the HTML report")
	fmt.Fprintf(GinkgoWriter, "drill result: %s\n", path)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// expectRunbookCommandsInPack checks that every diagnosis and evidence-capture command of the
// drilled scenario ran as written and that its output is in the evidence pack.
func expectRunbookCommandsInPack(res drill.Result) {
	GinkgoHelper()
	s, ok := rb.ScenarioByName(res.Scenario)
	Expect(ok).To(BeTrue())
	files, err := filepath.Glob(filepath.Join(res.EvidenceDir, "diagnosis", "*.txt"))
	Expect(err).NotTo(HaveOccurred())
	var stored []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		stored = append(stored, string(data))
	}
	for _, blocks := range [][]runbook.Block{s.Diagnosis, s.Evidence} {
		for _, b := range blocks {
			for _, c := range b.Commands {
				header := "$ " + runbook.OneLine(c.Text) + "\n"
				Expect(stored).To(ContainElement(And(ContainSubstring(header), ContainSubstring("status: "))),
					"runbook line %d ran and its output is in the pack", c.Line)
			}
		}
	}
}

var cli struct {
	once sync.Once
	path string
	err  error
}

// cliBinary builds the firedrill CLI once per suite run, for specs that run it as a process.
func cliBinary() string {
	GinkgoHelper()
	cli.once.Do(func() {
		dir, err := os.MkdirTemp("", "firedrill-cli-")
		if err != nil {
			cli.err = err
			return
		}
		cli.path = filepath.Join(dir, "firedrill")
		build := exec.Command("go", "build", "-o", cli.path, "./cmd/firedrill")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("build the CLI: %v\n%s", err, out)
		}
	})
	Expect(cli.err).NotTo(HaveOccurred())
	return cli.path
}
