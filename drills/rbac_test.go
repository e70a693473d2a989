package drills

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/stack"
)

// The drills need no more than the Role in fixtures/rbac: every drill passes as that
// ServiceAccount, which can do nothing outside the drill namespace.
var _ = Describe("Drills as the least-privileged ServiceAccount", Ordered, Label("drill", "rbac"), func() {
	var (
		bin, kubeconfig, contextName, work string
		sa                                 kubernetes.Interface
	)

	BeforeAll(func(ctx SpecContext) {
		bin = cliBinary()
		objs, err := cluster.Render(filepath.Join(repoRoot, "fixtures/rbac"), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(testCluster.Apply(ctx, objs)).To(Succeed())
		work = GinkgoT().TempDir()
		kubeconfig = filepath.Join(work, "sa.kubeconfig")
		contextName, err = testCluster.ServiceAccountKubeconfig(ctx, stack.Namespace, "firedrill-drill", kubeconfig)
		Expect(err).NotTo(HaveOccurred())
		restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		Expect(err).NotTo(HaveOccurred())
		sa, err = kubernetes.NewForConfig(restCfg)
		Expect(err).NotTo(HaveOccurred())
	})

	It("can do nothing outside the drill namespace, and cannot write Secrets", func(ctx SpecContext) {
		_, err := sa.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "list pods in kube-system: %v", err)
		_, err = sa.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "list nodes: %v", err)
		err = sa.CoreV1().Namespaces().Delete(ctx, stack.Namespace, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "delete the namespace: %v", err)
		err = sa.CoreV1().Secrets(stack.Namespace).Delete(ctx, "aureus-redis", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "delete a Secret: %v", err)
		_, err = sa.CoreV1().Pods(stack.Namespace).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred(), "and can read its own namespace")
	})

	for _, scenario := range []string{"frontend", "database", "storage", "policy", "ratelimit"} {
		It("passes the "+scenario+" drill with only that identity", func(ctx SpecContext) {
			artifacts := filepath.Join(envOr("ARTIFACTS", filepath.Join(repoRoot, "artifacts")), "rbac")
			cmd := exec.CommandContext(ctx, bin, "drill", scenario, "--kubeconfig", kubeconfig, "--allow-context", contextName,
				"--approver", approver, "--runbook", runbookPath, "--ledger", filepath.Join(work, "ledger.jsonl"),
				"--work-dir", filepath.Join(work, "work"), "--repo", repoRoot, "--artifacts", artifacts)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			GinkgoWriter.Write(out)
			if err != nil {
				// 1 means the drill passed and the runbook has findings; anything else is a failure.
				Expect(cmd.ProcessState.ExitCode()).To(Equal(1), string(out))
			}
			results, err := filepath.Glob(filepath.Join(artifacts, "results", "DRILL-*-"+scenario+".json"))
			Expect(err).NotTo(HaveOccurred())
			Expect(results).NotTo(BeEmpty())
			data, err := os.ReadFile(results[len(results)-1])
			Expect(err).NotTo(HaveOccurred())
			var res drill.Result
			Expect(json.Unmarshal(data, &res)).To(Succeed())
			Expect(res.Passed).To(BeTrue(), res.Failure)
			Expect(res.Residue).To(BeEmpty())
			Expect(string(out)).NotTo(ContainSubstring("forbidden"))
		}, SpecTimeout(15*time.Minute))
	}
})
