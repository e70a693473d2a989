package drills

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/firedrill-dev/firedrill/harness/stack"
)

var _ = Describe("The drill cluster", Label("cluster"), func() {
	It("serves /health 200 from every frontend pod through a port-forward", func(ctx SpecContext) {
		pods, err := testCluster.ReadyPods(ctx, stack.Namespace, "component=frontend")
		Expect(err).NotTo(HaveOccurred())
		Expect(pods).To(HaveLen(3))
		for _, p := range pods {
			port := forward(ctx, p.Name, 5000)
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(200), "pod %s: %s", p.Name, body)
			Expect(string(body)).To(ContainSubstring("postgres"))
		}
	})

	It("answers a query against Postgres through a port-forward", func(ctx SpecContext) {
		pods, err := testCluster.ReadyPods(ctx, stack.Namespace, "component=frontend")
		Expect(err).NotTo(HaveOccurred())
		port := forward(ctx, pods[0].Name, 5000)
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/api/query", port), "application/json",
			strings.NewReader(`{"user":"cluster-spec","dataset":"sales-2024"}`))
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200), string(body))
		Expect(string(body)).To(ContainSubstring("sales-2024"))
	})

	It("runs commands in pods and reads their logs, as the runbook does", func(ctx SpecContext) {
		pods, err := testCluster.ReadyPods(ctx, stack.Namespace, "component=postgres")
		Expect(err).NotTo(HaveOccurred())
		Expect(pods).NotTo(BeEmpty())
		res, err := testCluster.Exec(ctx, stack.Namespace, pods[0].Name, "", nil,
			"psql", "-U", "aureus", "-d", "aureus_metadata", "-tAc", "SELECT count(*) > 0 FROM pg_stat_activity")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(string(res.Stdout))).To(Equal("t"))

		frontends, err := testCluster.ReadyPods(ctx, stack.Namespace, "component=frontend")
		Expect(err).NotTo(HaveOccurred())
		logs, err := testCluster.Clientset.CoreV1().Pods(stack.Namespace).GetLogs(frontends[0].Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(logs).NotTo(BeEmpty())
	})

	It("has every resource and label the runbook's commands name", func(ctx SpecContext) {
		cs := testCluster.Clientset
		_, err := cs.AppsV1().Deployments(stack.Namespace).Get(ctx, "aureus-frontend", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = cs.AppsV1().StatefulSets(stack.Namespace).Get(ctx, "aureus-postgres", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		pvc, err := cs.CoreV1().PersistentVolumeClaims(stack.Namespace).Get(ctx, "aureus-evidence-pvc", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(pvc.Status.Phase)).To(Equal("Bound"))
		for _, selector := range []string{"app=aureus,component=frontend", "component=frontend", "component=postgres", "component=redis"} {
			pods, err := testCluster.ReadyPods(ctx, stack.Namespace, selector)
			Expect(err).NotTo(HaveOccurred())
			Expect(pods).NotTo(BeEmpty(), "no ready pod for -l %s", selector)
		}
	})
})

// forward opens a port-forward to a pod port on 127.0.0.1 and returns the local port; it is closed
// when the spec ends.
func forward(ctx SpecContext, pod string, port int) int {
	transport, upgrader, err := spdy.RoundTripperFor(testCluster.REST)
	Expect(err).NotTo(HaveOccurred())
	url := testCluster.Clientset.CoreV1().RESTClient().Post().Resource("pods").Namespace(stack.Namespace).
		Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	local := l.Addr().(*net.TCPAddr).Port
	l.Close()
	stop, ready := make(chan struct{}), make(chan struct{})
	var out bytes.Buffer
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("%d:%d", local, port)}, stop, ready, &out, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	go func() { _ = fw.ForwardPorts() }()
	DeferCleanup(func() { close(stop) })
	Eventually(ready).WithContext(ctx).Should(BeClosed())
	return local
}
