// Package policy drills the runbook's "Policy Engine Failure" scenario.
//
// The fault is a bad policy release that is still in effect: a rules file with an unusable rule is
// rolled out, then the ConfigMap is fixed without a reload, so every running pod holds rules it
// cannot evaluate and fails closed. That makes all three options meaningful: bypass (A) restores
// service under approval and is reverted, the cache flush (B) is not enough, and reloading the
// policies (C) fixes it.
package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

const (
	frontend   = "aureus-frontend"
	container  = "frontend"
	policyMap  = "aureus-policy"
	rulesKey   = "rules.yaml"
	blockedMsg = "Policy check failed"
)

// brokenRules parse, but their effect is unknown to the engine, so every decision fails closed.
const brokenRules = `# A release that introduced an effect the engine does not know.
default: deny
rules:
  - name: anyone-may-query
    effect: permit
    actions: [query, deploy]
`

// Scenario is the policy drill.
type Scenario struct{}

var _ drill.Scenario = Scenario{}

func (Scenario) Name() string       { return "policy" }
func (Scenario) Fault() drill.Fault { return staleRules{} }
func (Scenario) Options() []drill.Option {
	return []drill.Option{bypass(), flushCache(), reload()}
}

func (Scenario) Symptoms() []drill.Symptom {
	return []drill.Symptom{
		{Text: "All queries blocked", Observe: allQueriesBlocked},
		{Text: `"Policy check failed" errors`, Observe: drill.LogLine(drill.FrontendSelector, container, blockedMsg)},
		{Text: "Approval workflow stuck", Observe: deployBlocked},
	}
}

type staleRules struct{}

func (staleRules) Describe() string {
	return "policy release with an unusable rule rolled out; ConfigMap fixed afterwards but not reloaded"
}

func (staleRules) Inject(ctx context.Context, d *drill.Drill) error {
	cm, err := d.Cluster.Clientset.CoreV1().ConfigMaps(d.Namespace).Get(ctx, policyMap, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if _, ok := cm.Data[rulesKey]; !ok {
		return fmt.Errorf("configmap %s has no %s", policyMap, rulesKey)
	}
	seq, undo, err := d.Patch(ctx, drill.ConfigMaps, policyMap, "release broken policy rules",
		map[string]any{"data": map[string]string{rulesKey: brokenRules}})
	if err != nil {
		return err
	}
	if _, _, err := d.RolloutRestart(ctx, drill.Deployments, frontend); err != nil {
		return err
	}
	if err := d.WaitRollout(ctx, drill.Deployments, frontend); err != nil {
		return err
	}
	// The fix is merged into the ConfigMap, but nobody reloads the pods.
	return d.Revert(ctx, seq, undo)
}

// allQueriesBlocked waits until a round of probe queries is refused by the policy check.
func allQueriesBlocked(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		s, err := d.CheckSteadyState(ctx)
		if err != nil {
			return "", false, nil
		}
		blocked := 0
		for _, f := range s.Failures {
			if strings.Contains(f, blockedMsg) {
				blocked++
			}
		}
		return fmt.Sprintf("%d/%d probe queries refused with %q", blocked, s.Queries, blockedMsg), blocked == s.Queries, nil
	})
}

// deployBlocked checks that the approval workflow's deploy action is refused too.
func deployBlocked(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		res, err := d.Cluster.ProxyHTTP(ctx, d.Namespace, "services", drill.FrontendService+":"+drill.FrontendPort, "POST", "/api/deploy",
			[]byte(`{"user":"release-bot","dataset":"sales-2024","version":"drill"}`), nil)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("deploy answered %d", res.Status), res.Status != 200 && strings.Contains(string(res.Body), blockedMsg), nil
	})
}

// bypass is Option A: policy bypass with the incident commander as approver, its audit trail, and
// its revert (the runbook's CRITICAL: reverted within 1 hour).
func bypass() drill.Option {
	var seq int
	var undo drill.Undo
	var modeBefore string
	return drill.Option{
		Letter: "A",
		Do: func(ctx context.Context, d *drill.Drill) error {
			var err error
			if modeBefore, err = envOfFirstPod(ctx, d, "POLICY_BYPASS_MODE"); err != nil {
				return err
			}
			seq, undo, err = d.SetEnv(ctx, frontend, container, map[string]string{
				"POLICY_BYPASS_MODE":     "true",
				"POLICY_BYPASS_APPROVER": d.Commander,
			})
			if err != nil {
				return err
			}
			if err := d.WaitRollout(ctx, drill.Deployments, frontend); err != nil {
				return err
			}
			line := fmt.Sprintf("Policy bypass enabled at %s by %s for incident %s\n", time.Now().UTC().Format(time.RFC3339), d.Commander, d.ID)
			name := fmt.Sprintf("/app/evidence/emergency-bypass-%s.log", time.Now().UTC().Format("20060102-150405"))
			_, err = d.ExecIn(ctx, drill.FrontendSelector, container, strings.NewReader(line), "tee", name)
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			if err := envOnEveryPod(ctx, d, "POLICY_BYPASS_MODE", "true"); err != nil {
				return "", err
			}
			s, err := d.CheckSteadyState(ctx)
			if err != nil || !s.OK() {
				return "", fmt.Errorf("queries still fail under bypass: %s", s)
			}
			audit, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "sh", "-c", "cat /app/evidence/policy-bypass-audit.jsonl")
			if err != nil {
				return "", fmt.Errorf("read bypass audit trail: %w", err)
			}
			if !strings.Contains(string(audit), `"approver":"`+d.Commander+`"`) {
				return "", errors.New("bypass audit trail has no record naming the approver")
			}
			return fmt.Sprintf("bypass on every pod, approver %s; %s; audit trail has %d records", d.Commander, s, strings.Count(string(audit), "\n")), nil
		},
		Revert: func(ctx context.Context, d *drill.Drill) error {
			if err := d.Revert(ctx, seq, undo); err != nil {
				return err
			}
			if err := d.WaitRollout(ctx, drill.Deployments, frontend); err != nil {
				return err
			}
			return envOnEveryPod(ctx, d, "POLICY_BYPASS_MODE", modeBefore)
		},
	}
}

// envOnEveryPod checks the value of an env var in every frontend pod's spec ("" = unset).
func envOnEveryPod(ctx context.Context, d *drill.Drill, name, want string) error {
	pods, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: drill.FrontendSelector})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if got := envValue(p, name); got != want {
			return fmt.Errorf("pod %s has %s=%q, want %q", p.Name, name, got, want)
		}
	}
	return nil
}

func envOfFirstPod(ctx context.Context, d *drill.Drill, name string) (string, error) {
	pods, err := d.Cluster.ReadyPods(ctx, d.Namespace, drill.FrontendSelector)
	if err != nil {
		return "", err
	}
	if len(pods) == 0 {
		return "", errors.New("no ready frontend pod")
	}
	return envValue(pods[0], name), nil
}

func envValue(p corev1.Pod, name string) string {
	for _, c := range p.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// flushCache is Option B: FLUSHDB on Redis. It also counts what else the flush removed: the
// rate-limit counters share the database with the policy cache.
func flushCache() drill.Option {
	var before map[string]int
	return drill.Option{
		Letter: "B",
		Prepare: func(ctx context.Context, d *drill.Drill) (err error) {
			before, err = redisKeyCounts(ctx, d)
			return err
		},
		Do: func(ctx context.Context, d *drill.Drill) error {
			_, err := d.Mutate(ctx, "FLUSHDB on the policy cache", "redis/aureus-redis", drill.Undo{}, func(ctx context.Context) error {
				_, err := d.ExecIn(ctx, "component=redis", "redis", nil, "redis-cli", "--no-auth-warning", "FLUSHDB")
				return err
			})
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			after, err := redisKeyCounts(ctx, d)
			if err != nil {
				return "", err
			}
			if after["policy"] != 0 {
				return "", fmt.Errorf("%d policy cache keys left after FLUSHDB", after["policy"])
			}
			return fmt.Sprintf("flushed %d policy decisions and, as a side effect, %d rate-limit counters and %d other keys",
				before["policy"], before["ratelimit"], before["other"]), nil
		},
	}
}

func redisKeyCounts(ctx context.Context, d *drill.Drill) (map[string]int, error) {
	out, err := d.ExecIn(ctx, "component=redis", "redis", nil, "redis-cli", "--no-auth-warning", "--scan")
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, key := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(key, "policy:"):
			counts["policy"]++
		case strings.HasPrefix(key, "ratelimit:"):
			counts["ratelimit"]++
		default:
			counts["other"]++
		}
	}
	return counts, nil
}

// reload is Option C: a rollout restart, so every pod reads the (fixed) rules again.
func reload() drill.Option {
	var old map[string]bool
	return drill.Option{
		Letter: "C",
		Prepare: func(ctx context.Context, d *drill.Drill) (err error) {
			old, err = d.PodUIDs(ctx, drill.FrontendSelector)
			return err
		},
		Do: func(ctx context.Context, d *drill.Drill) error {
			if _, _, err := d.RolloutRestart(ctx, drill.Deployments, frontend); err != nil {
				return err
			}
			return d.WaitRollout(ctx, drill.Deployments, frontend)
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			now, err := d.PodUIDs(ctx, drill.FrontendSelector)
			if err != nil {
				return "", err
			}
			for uid := range now {
				if old[uid] {
					return "", fmt.Errorf("pod %s was not replaced", uid)
				}
			}
			return fmt.Sprintf("all %d frontend pods replaced and reloaded the rules", len(now)), nil
		},
	}
}
