package drills

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/stack"
	"github.com/firedrill-dev/firedrill/scenarios/database"
	"github.com/firedrill-dev/firedrill/scenarios/storage"
)

// A signal at any point of a drill run by the CLI (Ctrl-C, SIGTERM from CI, SIGKILL + cleanup)
// leaves the stack exactly at its baseline, with the drill recorded as aborted.
var _ = Describe("Drills interrupted by signals", Ordered, Label("drill", "interrupt", "signals"), func() {
	var (
		bin      string
		baseline drill.SpecSnapshot
		probe    *drill.Drill
		work     string
		ledgerAt string
	)

	BeforeAll(func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		bin = cliBinary()
		work = filepath.Join(dir, "work")
		Expect(os.MkdirAll(work, 0o755)).To(Succeed())
		var err error
		kubeconfig, err := os.ReadFile(testCluster.Kubeconfig)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(work, "kubeconfig"), kubeconfig, 0o600)).To(Succeed())
		ledgerAt = filepath.Join(dir, "ledger.jsonl")
		probe = &drill.Drill{Cluster: testCluster, Namespace: stack.Namespace}
		baseline, err = probe.CaptureSpec(ctx)
		Expect(err).NotTo(HaveOccurred())
	})

	// run starts `firedrill drill`, calls before once a progress line containing trigger appears and
	// then sends sig (0: none); again names a second signal sent one second later (during the undo).
	run := func(ctx SpecContext, scenario, trigger string, sig, again syscall.Signal, before ...func()) (int, string) {
		cmd := exec.CommandContext(ctx, bin, "drill", scenario, "--approver", approver, "--exhaustive",
			"--runbook", runbookPath, "--ledger", ledgerAt, "--work-dir", work, "--repo", repoRoot,
			"--artifacts", filepath.Join(envOr("ARTIFACTS", filepath.Join(repoRoot, "artifacts")), "signals"))
		cmd.Dir = repoRoot
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		Expect(cmd.Start()).To(Succeed())
		var transcript strings.Builder
		sent := false
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			line := lines.Text()
			transcript.WriteString(line + "\n")
			if !sent && strings.Contains(line, trigger) {
				sent = true
				for _, f := range before {
					f()
				}
				if sig == 0 {
					continue
				}
				fmt.Fprintf(GinkgoWriter, "sending %s at: %s\n", sig, line)
				Expect(cmd.Process.Signal(sig)).To(Succeed())
				if again != 0 {
					time.Sleep(time.Second)
					Expect(cmd.Process.Signal(again)).To(Succeed())
				}
			}
		}
		err = cmd.Wait()
		fmt.Fprintf(GinkgoWriter, "%s\nstderr: %s\n", transcript.String(), stderr.String())
		Expect(sent).To(BeTrue(), "the drill never reached %q", trigger)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if st, ok := exit.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				return -int(st.Signal()), transcript.String()
			}
			return exit.ExitCode(), transcript.String()
		}
		Expect(err).NotTo(HaveOccurred())
		return 0, transcript.String()
	}

	expectBaseline := func(ctx SpecContext) {
		GinkgoHelper()
		now, err := probe.CaptureSpec(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(baseline.Diff(now)).To(BeEmpty(), "the stack's spec is back at its baseline")
		Eventually(func(g Gomega) {
			s, err := probe.CheckSteadyState(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.OK()).To(BeTrue(), s.String())
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(Succeed())
		pods, err := testCluster.Clientset.CoreV1().Pods(stack.Namespace).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		for _, p := range pods.Items {
			Expect(p.OwnerReferences).NotTo(BeEmpty(), "pod %s is a temporary pod the drill left behind", p.Name)
			Expect(p.Name).NotTo(Equal(database.LeakerPod))
		}
		// Postgres ends a dead client's session when it notices the connection is gone.
		Eventually(func(g Gomega) {
			sessions, err := probe.ExecIn(ctx, drill.DatabaseSelector, "postgres", nil, "psql", "-U", "postgres", "-d", "aureus_metadata", "-tAXq",
				"-c", "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"+database.LeakerApp+"'")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.TrimSpace(string(sessions))).To(Equal("0"), "leaked sessions left")
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		_, err = probe.ExecIn(ctx, drill.FrontendSelector, "frontend", nil, "test", "!", "-e", storage.HistoryDir)
		Expect(err).NotTo(HaveOccurred(), "the storage drill's filler files are left")
		_, err = testCluster.Clientset.CoordinationV1().Leases(stack.Namespace).Get(ctx, drill.LockName, metav1.GetOptions{})
		Expect(err).To(HaveOccurred(), "the drill lock is released")
	}

	expectAborted := func(transcript string) {
		GinkgoHelper()
		records, err := ledger.ReadFile(ledgerAt)
		Expect(err).NotTo(HaveOccurred())
		Expect(records).NotTo(BeEmpty())
		last := records[len(records)-1]
		Expect(last.Result).To(Equal(ledger.Aborted))
		if last.EvidencePath != "" {
			dir := last.EvidencePath
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(repoRoot, dir)
			}
			Expect(filepath.Join(dir, evidence.IncompleteFile)).To(BeAnExistingFile(), "the evidence pack is marked incomplete")
		}
		Expect(transcript).To(ContainSubstring("stack back at baseline"))
	}

	points := []struct {
		scenario, trigger string
		sig, again        syscall.Signal
	}{
		{"frontend", "phase started — inject", syscall.SIGINT, 0},
		{"frontend", "phase started — detect", syscall.SIGTERM, 0},
		{"policy", "phase started — acknowledge", syscall.SIGINT, 0},
		{"policy", "phase started — diagnose", syscall.SIGTERM, 0},
		{"database", "phase started — mitigate", syscall.SIGINT, 0},
		{"database", "mitigate    option C — ", syscall.SIGTERM, 0}, // inside a mitigation step
		{"storage", "mitigate    change — ", syscall.SIGINT, 0},     // inside a mitigation step, after a change
		{"storage", "phase started — recover", syscall.SIGTERM, 0},
		{"ratelimit", "mitigate    option B — ", syscall.SIGINT, 0},
		{"ratelimit", "mitigate    option A — ", syscall.SIGTERM, syscall.SIGINT}, // a second signal during the undo
	}
	for _, p := range points {
		It(fmt.Sprintf("%s: %s at %q undoes everything", p.scenario, p.sig, strings.TrimSpace(p.trigger)), func(ctx SpecContext) {
			code, transcript := run(ctx, p.scenario, p.trigger, p.sig, p.again)
			want := 130
			if p.sig == syscall.SIGTERM {
				want = 143
			}
			Expect(code).To(Equal(want))
			expectAborted(transcript)
			expectBaseline(ctx)
		}, SpecTimeout(10*time.Minute))
	}

	It("refuses a second drill while one runs, and touches nothing", func(ctx SpecContext) {
		second := make(chan string, 1)
		var secondCode int
		code, _ := run(ctx, "policy", "phase started — detect", syscall.SIGINT, 0, func() {
			cmd := exec.CommandContext(ctx, bin, "drill", "frontend", "--runbook", runbookPath, "--ledger", ledgerAt,
				"--work-dir", work, "--repo", repoRoot, "--artifacts", GinkgoT().TempDir())
			out, _ := cmd.CombinedOutput()
			secondCode = cmd.ProcessState.ExitCode()
			second <- string(out)
		})
		out := <-second
		Expect(secondCode).To(Equal(2), out)
		Expect(out).To(MatchRegexp(`another drill is running in this namespace: DRILL-\S+-policy holds lease aureus/firedrill-drill`))
		Expect(out).NotTo(ContainSubstring("phase started — inject"), "the second drill injected nothing")
		Expect(code).To(Equal(130))
		expectBaseline(ctx)
	}, SpecTimeout(10*time.Minute))

	// The lock is released last: a drill started while another cleans up would see a settling stack.
	It("refuses a second drill while the first one cleans up", func(ctx SpecContext) {
		var out string
		var secondCode int
		code, _ := run(ctx, "ratelimit", "phase started — cleanup", 0, 0, func() {
			cmd := exec.CommandContext(ctx, bin, "drill", "frontend", "--runbook", runbookPath, "--ledger", ledgerAt,
				"--work-dir", work, "--repo", repoRoot, "--artifacts", GinkgoT().TempDir())
			combined, _ := cmd.CombinedOutput()
			out, secondCode = string(combined), cmd.ProcessState.ExitCode()
		})
		Expect(secondCode).To(Equal(2), out)
		Expect(out).To(MatchRegexp(`another drill is running in this namespace: DRILL-\S+-ratelimit holds lease aureus/firedrill-drill`))
		Expect(code).To(BeElementOf(0, 1), "the first drill recovered (1: runbook findings)")
		expectBaseline(ctx)
	}, SpecTimeout(10*time.Minute))

	It("SIGKILL mid-fault, then firedrill cleanup, undoes everything", func(ctx SpecContext) {
		code, _ := run(ctx, "database", "phase started — detect", syscall.SIGKILL, 0)
		Expect(code).To(Equal(-int(syscall.SIGKILL)))
		// Killed: nothing undone yet, the fault is live.
		_, err := testCluster.Clientset.CoreV1().Pods(stack.Namespace).Get(ctx, database.LeakerPod, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the leaker still runs after SIGKILL")
		cleanup := exec.CommandContext(ctx, bin, "cleanup", "--work-dir", work)
		cleanup.Dir = repoRoot
		out, err := cleanup.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(MatchRegexp(`cleanup: [1-9]\d* undo entries replayed`))
		Eventually(func() error {
			_, err := testCluster.Clientset.CoreV1().Pods(stack.Namespace).Get(ctx, database.LeakerPod, metav1.GetOptions{})
			return err
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(HaveOccurred())
		expectBaseline(ctx)
	}, SpecTimeout(10*time.Minute))
})
