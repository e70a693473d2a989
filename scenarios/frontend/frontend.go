// Package frontend drills the runbook's "Frontend Application Down" scenario.
//
// The fault is a bad release: it switches the Deployment to the Recreate strategy (the evidence
// volume is ReadWriteOnce) and ships a configuration the frontend refuses to start with, so every
// pod crash-loops and the Service has no endpoint. Restart (A) and scale-up (B) act but cannot help;
// rollback (C) to the last good revision restores service.
package frontend

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

const (
	deployment = "aureus-frontend"
	container  = "frontend"
	// scaledReplicas is what the runbook's Option B scales to.
	scaledReplicas = 5
)

// Scenario is the frontend-down drill.
type Scenario struct{}

var _ drill.Scenario = Scenario{}

func (Scenario) Name() string       { return "frontend" }
func (Scenario) Fault() drill.Fault { return &badRelease{} }

func (Scenario) Symptoms() []drill.Symptom {
	return []drill.Symptom{
		{Text: "Health check failing", Observe: noHealthyPod},
		{Text: "502/503 errors", Observe: serviceUnavailable},
		{Text: "All user requests failing", Observe: allRequestsFail},
	}
}

func (s Scenario) Options() []drill.Option {
	return []drill.Option{restart(), scaleUp(), rollback()}
}

// badRelease remembers the revision that was good before it, for the rollback.
type badRelease struct{}

func (*badRelease) Describe() string {
	return "bad release: Recreate strategy and a start-up configuration the frontend refuses (bypass without approver)"
}

func (*badRelease) Inject(ctx context.Context, d *drill.Drill) error {
	dep, err := d.Cluster.Clientset.AppsV1().Deployments(d.Namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return err
	}
	patch := map[string]any{"spec": map[string]any{
		"strategy": map[string]any{"type": "Recreate", "rollingUpdate": nil},
		"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
			"name": container,
			"env":  []any{map[string]any{"name": "POLICY_BYPASS_MODE", "value": "true"}},
		}}}},
	}}
	d.Note("last good revision", dep.Annotations["deployment.kubernetes.io/revision"])
	_, _, err = d.Patch(ctx, drill.Deployments, deployment, "release a frontend build that refuses to start", patch)
	return err
}

func noHealthyPod(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		s, err := d.CheckSteadyState(ctx)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("%d/%d frontend pods answer /health 200", s.HealthyPods, s.Pods), s.HealthyPods == 0, nil
	})
}

func serviceUnavailable(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		res, err := d.Cluster.ProxyHTTP(ctx, d.Namespace, "services", drill.FrontendService+":"+drill.FrontendPort, "GET", "/health", nil, nil)
		if err != nil {
			return err.Error(), false, nil
		}
		return fmt.Sprintf("Service answered %d", res.Status), res.Status == 502 || res.Status == 503, nil
	})
}

func allRequestsFail(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		s, err := d.CheckSteadyState(ctx)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("%d/%d queries failed", s.Failed, s.Queries), s.Failed == s.Queries, nil
	})
}

// restart is Option A: rollout restart; verified by every pod being replaced.
func restart() drill.Option {
	var before map[string]bool
	return drill.Option{
		Letter: "A",
		Prepare: func(ctx context.Context, d *drill.Drill) (err error) {
			before, err = d.PodUIDs(ctx, drill.FrontendSelector)
			return err
		},
		Do: func(ctx context.Context, d *drill.Drill) error {
			_, _, err := d.RolloutRestart(ctx, drill.Deployments, deployment)
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
				now, err := d.PodUIDs(ctx, drill.FrontendSelector)
				if err != nil {
					return "", false, err
				}
				for uid := range now {
					if before[uid] {
						return "old pods still present", false, nil
					}
				}
				return fmt.Sprintf("all %d pods replaced (the new ones crash the same way)", len(now)), len(now) > 0, nil
			})
		},
	}
}

// scaleUp is Option B: scale to the runbook's replica count; verified on the Deployment and its pods.
func scaleUp() drill.Option {
	return drill.Option{
		Letter: "B",
		Do: func(ctx context.Context, d *drill.Drill) error {
			_, _, err := d.Scale(ctx, drill.Deployments, deployment, scaledReplicas)
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
				dep, err := d.Cluster.Clientset.AppsV1().Deployments(d.Namespace).Get(ctx, deployment, metav1.GetOptions{})
				if err != nil {
					return "", false, err
				}
				pods, err := d.PodUIDs(ctx, drill.FrontendSelector)
				if err != nil {
					return "", false, err
				}
				return fmt.Sprintf("deployment wants %d replicas, %d pods exist", *dep.Spec.Replicas, len(pods)),
					*dep.Spec.Replicas == scaledReplicas && len(pods) == scaledReplicas, nil
			})
		},
	}
}

// rollback is Option C: roll back to the last good release. kubectl's own rollbacker does it; the
// target is the newest revision older than the bad release (a plain `rollout undo` after Option A
// would only return to the bad release: the restart made a revision of its own).
func rollback() drill.Option {
	var target int64
	return drill.Option{
		Letter: "C",
		Prepare: func(ctx context.Context, d *drill.Drill) (err error) {
			target, err = lastGoodRevision(ctx, d)
			return err
		},
		Do: func(ctx context.Context, d *drill.Drill) error {
			dep, err := d.Cluster.Clientset.AppsV1().Deployments(d.Namespace).Get(ctx, deployment, metav1.GetOptions{})
			if err != nil {
				return err
			}
			rb, err := polymorphichelpers.RollbackerFor(schema.GroupKind{Group: "apps", Kind: "Deployment"}, d.Cluster.Clientset)
			if err != nil {
				return err
			}
			undo, err := d.RestoreUndo(ctx, drill.Deployments, deployment, "restore deployment/"+deployment+" after rollback")
			if err != nil {
				return err
			}
			_, err = d.Mutate(ctx, fmt.Sprintf("rollout undo deployment/%s --to-revision=%d", deployment, target), "deployments/"+deployment, undo,
				func(ctx context.Context) error {
					_, err := rb.Rollback(dep, nil, target, cmdutil.DryRunNone)
					return err
				})
			if err != nil {
				return err
			}
			return d.WaitRollout(ctx, drill.Deployments, deployment)
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			dep, err := d.Cluster.Clientset.AppsV1().Deployments(d.Namespace).Get(ctx, deployment, metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			for _, c := range dep.Spec.Template.Spec.Containers {
				if c.Name == container && badConfig(c) {
					return "", fmt.Errorf("rolled back template still carries the bad release's configuration")
				}
			}
			return fmt.Sprintf("template of the last good revision %d restored (now revision %s), rollout complete with %d/%d available",
				target, dep.Annotations["deployment.kubernetes.io/revision"], dep.Status.AvailableReplicas, *dep.Spec.Replicas), nil
		},
	}
}

// lastGoodRevision is the newest ReplicaSet revision whose template lacks the bad configuration.
func lastGoodRevision(ctx context.Context, d *drill.Drill) (int64, error) {
	rss, err := d.Cluster.Clientset.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: drill.FrontendSelector})
	if err != nil {
		return 0, err
	}
	var best int64
	for _, rs := range rss.Items {
		rev, err := strconv.ParseInt(rs.Annotations["deployment.kubernetes.io/revision"], 10, 64)
		if err != nil {
			continue
		}
		good := true
		for _, c := range rs.Spec.Template.Spec.Containers {
			if c.Name == container && badConfig(c) {
				good = false
			}
		}
		if good && rev > best {
			best = rev
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("no earlier good revision of deployment/%s to roll back to", deployment)
	}
	return best, nil
}

// badConfig is the bad release's mark: bypass switched on without an approver.
func badConfig(c corev1.Container) bool {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = strings.TrimSpace(e.Value)
	}
	return env["POLICY_BYPASS_MODE"] == "true" && env["POLICY_BYPASS_APPROVER"] == ""
}
