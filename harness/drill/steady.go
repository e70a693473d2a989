package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Stack names the drill checks; they are the runbook's names.
const (
	FrontendService  = "aureus-frontend"
	FrontendPort     = "5000"
	FrontendSelector = "component=frontend"
	// ProbeDataset is a dataset every user may query.
	ProbeDataset = "sales-2024"
)

// SteadyState is one measurement of whether the stack serves users.
type SteadyState struct {
	Pods        int           `json:"pods"`
	HealthyPods int           `json:"healthyPods"`
	Queries     int           `json:"queries"`
	Failed      int           `json:"failed"`
	ErrorRate   float64       `json:"errorRate"`
	MaxLatency  time.Duration `json:"maxLatency"`
	Failures    []string      `json:"failures,omitempty"`
}

// OK is true when every frontend pod is healthy and every probe query succeeded.
func (s SteadyState) OK() bool {
	return s.Pods > 0 && s.HealthyPods == s.Pods && s.Queries > 0 && s.Failed == 0
}

func (s SteadyState) String() string {
	return fmt.Sprintf("%d/%d frontend pods healthy, %d/%d queries ok (error rate %.0f%%, max latency %s)",
		s.HealthyPods, s.Pods, s.Queries-s.Failed, s.Queries, s.ErrorRate*100, s.MaxLatency.Round(time.Millisecond))
}

var probeCounter atomic.Int64

// probeUser is a fresh user per probe, so probes never trip the per-user rate limit.
func probeUser() string {
	return fmt.Sprintf("drill-probe-%d-%d", time.Now().Unix(), probeCounter.Add(1))
}

// queriesPerCheck is how many queries a steady-state check sends through the Service.
const queriesPerCheck = 3

// CheckSteadyState asks /health of every frontend pod and sends queries through the Service.
func (d *Drill) CheckSteadyState(ctx context.Context) (SteadyState, error) {
	var s SteadyState
	list, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: FrontendSelector})
	if err != nil {
		return s, err
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		s.Pods++
		res, err := d.Cluster.ProxyHTTP(ctx, d.Namespace, "pods", p.Name+":"+FrontendPort, "GET", "/health", nil, nil)
		if err == nil && res.Status == 200 {
			s.HealthyPods++
		} else {
			s.Failures = append(s.Failures, fmt.Sprintf("pod %s /health: %d %s", p.Name, res.Status, firstLine(res.Body, err)))
		}
	}
	for i := 0; i < queriesPerCheck; i++ {
		res, err := d.Query(ctx, probeUser(), ProbeDataset)
		s.Queries++
		s.MaxLatency = max(s.MaxLatency, res.Latency)
		if err != nil || res.Status != 200 {
			s.Failed++
			s.Failures = append(s.Failures, fmt.Sprintf("query: %d %s", res.Status, firstLine(res.Body, err)))
		}
	}
	s.ErrorRate = float64(s.Failed) / float64(s.Queries)
	return s, nil
}

// Query sends POST /api/query through the frontend Service.
func (d *Drill) Query(ctx context.Context, user, dataset string) (httpResult, error) {
	body, _ := json.Marshal(map[string]string{"user": user, "dataset": dataset})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := d.Cluster.ProxyHTTP(ctx, d.Namespace, "services", FrontendService+":"+FrontendPort, "POST", "/api/query", body, nil)
	return httpResult{Status: res.Status, Body: res.Body, Latency: res.Latency}, err
}

type httpResult struct {
	Status  int
	Body    []byte
	Latency time.Duration
}

func firstLine(body []byte, err error) string {
	if err != nil && len(body) == 0 {
		return err.Error()
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(line) > 200 {
		line = line[:200]
	}
	return line
}

// WaitSteadyState repeats steady-state checks until one passes, returning it.
func (d *Drill) WaitSteadyState(ctx context.Context) (SteadyState, error) {
	var last SteadyState
	for {
		s, err := d.CheckSteadyState(ctx)
		if err == nil {
			last = s
			if s.OK() {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("not back to steady state: %s: %w", last, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// SpecSnapshot is the drill-relevant state of every workload and ConfigMap in the namespace.
type SpecSnapshot map[string]map[string]any

var snapshotResources = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "secrets"},
}

// CaptureSpec snapshots the namespace's workloads, ConfigMaps and Secrets (Secret values stay
// in memory only: the residue check compares them, nothing writes them out).
func (d *Drill) CaptureSpec(ctx context.Context) (SpecSnapshot, error) {
	snap := SpecSnapshot{}
	for _, gvr := range snapshotResources {
		list, err := d.Cluster.Dynamic.Resource(gvr).Namespace(d.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if obj.GetName() == "kube-root-ca.crt" {
				continue
			}
			snap[gvr.Resource+"/"+obj.GetName()] = Snapshot(obj)
		}
	}
	return snap, nil
}

// Diff names every object whose snapshot differs between base and now, without printing values.
func (base SpecSnapshot) Diff(now SpecSnapshot) []string {
	var diffs []string
	for key, b := range base {
		n, ok := now[key]
		if !ok {
			diffs = append(diffs, key+": missing")
			continue
		}
		for _, field := range fieldsOf(b, n) {
			if !reflect.DeepEqual(b[field], n[field]) {
				diffs = append(diffs, key+": "+field+" differs")
			}
		}
	}
	for key := range now {
		if _, ok := base[key]; !ok {
			diffs = append(diffs, key+": added")
		}
	}
	sort.Strings(diffs)
	return diffs
}

func fieldsOf(a, b map[string]any) []string {
	var fields []string
	for k := range a {
		fields = append(fields, k)
	}
	for k := range b {
		if !slices.Contains(fields, k) {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	return fields
}
