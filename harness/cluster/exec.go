package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// ExecResult is what a command run in a container printed.
type ExecResult struct {
	Stdout, Stderr []byte
}

// Exec runs command in a pod's container, as `kubectl exec` does, feeding stdin when given.
func (c *Cluster) Exec(ctx context.Context, ns, pod, container string, stdin io.Reader, command ...string) (ExecResult, error) {
	req := c.Clientset.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	executor, err := remotecommand.NewSPDYExecutor(c.REST, http.MethodPost, req.URL())
	if err != nil {
		return ExecResult{}, err
	}
	var stdout, stderr bytes.Buffer
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &stdout, Stderr: &stderr})
	res := ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err != nil {
		return res, fmt.Errorf("exec in %s/%s: %w: %s", ns, pod, err, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// ReadyPods lists the running, ready pods matching selector.
func (c *Cluster) ReadyPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	list, err := c.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(p) {
			ready = append(ready, p)
		}
	}
	return ready, nil
}

// ExecPods lists the pods a command can run in, as `kubectl exec deployment/x` picks them: ready
// pods first, then running ones that are not ready (a full disk makes every pod unready).
func (c *Cluster) ExecPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	list, err := c.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var ready, running []corev1.Pod
	for _, p := range list.Items {
		switch {
		case p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning:
		case podReady(p):
			ready = append(ready, p)
		default:
			running = append(running, p)
		}
	}
	return append(ready, running...), nil
}

func podReady(p corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// HTTPResult is an answer relayed by the API server's proxy.
type HTTPResult struct {
	Status  int
	Body    []byte
	Latency time.Duration
}

// ProxyHTTP sends an HTTP request to a service or pod port through the API server's proxy, so the
// harness reaches the stack without port-forwards. kind is "services" or "pods"; target is
// "name:port".
func (c *Cluster) ProxyHTTP(ctx context.Context, ns, kind, target, method, path string, body []byte, headers map[string]string) (HTTPResult, error) {
	// No retries: client-go retries a 429 as if the API server sent it, but here it is the
	// application's answer (rate limiting) and must reach the caller as is.
	req := c.Clientset.CoreV1().RESTClient().Verb(method).Namespace(ns).Resource(kind).Name(target).
		SubResource("proxy").Suffix(strings.TrimPrefix(path, "/")).MaxRetries(0)
	if body != nil {
		req = req.Body(body).SetHeader("Content-Type", "application/json")
	}
	for k, v := range headers {
		req = req.SetHeader(k, v)
	}
	start := time.Now()
	res := req.Do(ctx)
	var status int
	res.StatusCode(&status)
	raw, err := res.Raw()
	out := HTTPResult{Status: status, Body: raw, Latency: time.Since(start)}
	if status == 0 && err != nil {
		return out, fmt.Errorf("%s %s/%s%s: %w", method, kind, target, path, err)
	}
	return out, nil
}
