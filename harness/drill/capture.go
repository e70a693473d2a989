package drill

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Selectors of the log streams the evidence pack keeps.
const (
	DatabaseSelector = "component=postgres"
)

// CaptureLogs returns the logs of every container of every pod matching selector, each block headed
// by its pod and container; a crash-looping container's previous run is included.
func (d *Drill) CaptureLogs(ctx context.Context, selector string) ([]byte, error) {
	pods, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			for _, previous := range []bool{false, true} {
				if previous && !restarted(p, c.Name) {
					continue
				}
				raw, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{
					Container: c.Name, Previous: previous, Timestamps: true,
				}).DoRaw(ctx)
				label := ""
				if previous {
					label = " (previous run)"
				}
				fmt.Fprintf(&buf, "==> pod/%s container/%s%s <==\n", p.Name, c.Name, label)
				if err != nil {
					fmt.Fprintf(&buf, "(logs unavailable: %v)\n", err)
					continue
				}
				buf.Write(raw)
			}
		}
	}
	if buf.Len() == 0 {
		fmt.Fprintf(&buf, "(no pod matches %s)\n", selector)
	}
	return buf.Bytes(), nil
}

func restarted(p corev1.Pod, container string) bool {
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == container {
			return s.RestartCount > 0
		}
	}
	return false
}

// CaptureEvents returns the namespace's events, oldest first, one per line.
func (d *Drill) CaptureEvents(ctx context.Context) ([]byte, error) {
	list, err := d.Cluster.Clientset.CoreV1().Events(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	events := list.Items
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	var buf bytes.Buffer
	for _, e := range events {
		fmt.Fprintf(&buf, "%s %-7s %-20s %s/%s: %s (x%d)\n", eventTime(e).UTC().Format(time.RFC3339), e.Type, e.Reason,
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message, max(e.Count, 1))
	}
	if buf.Len() == 0 {
		buf.WriteString("(no events)\n")
	}
	return buf.Bytes(), nil
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// SecretValues reads every value of the namespace's Secrets, so evidence can be redacted where it
// is captured. The values never leave memory.
func (d *Drill) SecretValues(ctx context.Context) ([]string, error) {
	list, err := d.Cluster.Clientset.CoreV1().Secrets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var values []string
	for _, s := range list.Items {
		for _, v := range s.Data {
			if len(v) >= 4 {
				values = append(values, string(v))
			}
		}
	}
	return values, nil
}
