package drill

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// probeInterval paces symptom probes that have nothing to watch (HTTP answers).
const probeInterval = 500 * time.Millisecond

// Until calls check until it reports done, returning its last description.
func Until(ctx context.Context, check func(context.Context) (string, bool, error)) (string, error) {
	var last string
	for {
		seen, done, err := check(ctx)
		if err != nil {
			return seen, err
		}
		last = seen
		if done {
			return seen, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%w (last seen: %s)", ctx.Err(), last)
		case <-time.After(probeInterval):
		}
	}
}

// LogLine observes a symptom in the logs: it follows the logs of every pod matching selector from
// the moment of injection and returns the first line containing text.
func LogLine(selector, container, text string) func(context.Context, *Drill) (string, error) {
	return func(ctx context.Context, d *Drill) (string, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		pods, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return "", err
		}
		since := metav1.NewTime(d.InjectedAt)
		found := make(chan string, len(pods.Items))
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			go func(pod string) {
				stream, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).GetLogs(pod, &corev1.PodLogOptions{
					Container: container, Follow: true, SinceTime: &since,
				}).Stream(ctx)
				if err != nil {
					return
				}
				defer stream.Close()
				s := bufio.NewScanner(stream)
				s.Buffer(make([]byte, 64<<10), 1<<20)
				for s.Scan() {
					if strings.Contains(s.Text(), text) {
						found <- pod + ": " + s.Text()
						return
					}
				}
			}(p.Name)
		}
		select {
		case line := <-found:
			return line, nil
		case <-ctx.Done():
			return "", fmt.Errorf("no log line containing %q: %w", text, ctx.Err())
		}
	}
}
