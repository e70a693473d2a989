// Package database drills the runbook's "Database Connection Issues" scenario.
//
// The fault is a real connection leak: a pod opens idle sessions to aureus-postgres until every
// non-superuser slot of its small max_connections is taken, so the frontend's pool cannot open new
// connections. Before the fault a canary row is committed; whatever the drill does, the row must
// survive (the runbook warns that restarting Postgres risks data).
package database

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

const (
	statefulSet = "aureus-postgres"
	frontend    = "aureus-frontend"
	LeakerPod   = "firedrill-connection-leaker"
	LeakerApp   = "firedrill-leaker"
	// frontendReplicas is what Option C scales back up to.
	frontendReplicas = 3
)

// Scenario is the database drill.
type Scenario struct{}

var _ drill.Scenario = Scenario{}

func (Scenario) Name() string       { return "database" }
func (Scenario) Fault() drill.Fault { return &leak{} }

func (Scenario) Symptoms() []drill.Symptom {
	return []drill.Symptom{
		{Text: "Query timeouts", Observe: queriesFail},
		{Text: `"Cannot connect to database" errors`, Observe: drill.LogLine(drill.FrontendSelector, "frontend", "cannot connect to database")},
	}
}

func (Scenario) Options() []drill.Option {
	return []drill.Option{restartPostgres(), killIdle(), scaleDownUp()}
}

// psql runs SQL as the postgres superuser over the pod's local socket: superusers keep reserved
// slots, so this works even when every ordinary slot is leaked.
// A superuser session can still be refused for a moment: the hung client's connection attempts
// and the readiness probe's pg_isready hold backend slots while they start up and are rejected.
func psql(ctx context.Context, d *drill.Drill, sql string) (string, error) {
	deadline := time.Now().Add(superuserRetry)
	for {
		out, err := d.ExecIn(ctx, drill.DatabaseSelector, "postgres", nil,
			"psql", "-U", "postgres", "-d", "aureus_metadata", "-tAXq", "-v", "ON_ERROR_STOP=1", "-c", sql)
		if err == nil || !strings.Contains(err.Error(), "too many clients") || time.Now().After(deadline) {
			return strings.TrimSpace(string(out)), err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// superuserRetry bounds how long psql waits for a slot when every slot is briefly taken.
const superuserRetry = 20 * time.Second

type leak struct{}

func (*leak) Describe() string {
	return "a client leaks idle Postgres sessions until max_connections is exhausted"
}

func (*leak) Inject(ctx context.Context, d *drill.Drill) error {
	maxConns, err := psql(ctx, d, "SHOW max_connections")
	if err != nil {
		return fmt.Errorf("read max_connections: %w", err)
	}
	n, err := strconv.Atoi(maxConns)
	if err != nil {
		return fmt.Errorf("max_connections %q: %w", maxConns, err)
	}
	note := "canary " + d.ID
	undoCanary := drill.Undo{Kind: "exec", Why: "delete the drill's canary row", Namespace: d.Namespace, Selector: drill.DatabaseSelector,
		Container: "postgres", Command: []string{"psql", "-U", "postgres", "-d", "aureus_metadata", "-qc", "DELETE FROM canary WHERE note = '" + note + "'"}}
	if _, err := d.Mutate(ctx, "commit a canary row", "canary", undoCanary, func(ctx context.Context) error {
		_, err := psql(ctx, d, "INSERT INTO canary (note) VALUES ('"+note+"')")
		return err
	}); err != nil {
		return err
	}
	image, err := postgresImage(ctx, d)
	if err != nil {
		return err
	}
	pod := leakerPod(d.Namespace, image, n)
	undo := drill.Undo{Kind: "delete", Why: "delete the connection leaker", Version: "v1", Resource: "pods", Namespace: d.Namespace, Name: LeakerPod}
	_, err = d.Mutate(ctx, fmt.Sprintf("start a client that leaks %d idle sessions", n), "pods/"+LeakerPod, undo, func(ctx context.Context) error {
		_, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).Create(ctx, pod, metav1.CreateOptions{FieldManager: "firedrill"})
		return err
	})
	if err != nil {
		return err
	}
	_, err = drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		leaked, err := leakedSessions(ctx, d)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("%d leaked sessions", leaked), leaked >= n-3-frontendReplicas*4, nil
	})
	return err
}

func postgresImage(ctx context.Context, d *drill.Drill) (string, error) {
	sts, err := d.Cluster.Clientset.AppsV1().StatefulSets(d.Namespace).Get(ctx, statefulSet, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return sts.Spec.Template.Spec.Containers[0].Image, nil
}

// leakerPod is a hung client: each of its n workers retries until it holds a session, then keeps it
// idle forever (psql sleeps in a shell escape with the connection open) and never reconnects, so
// freed slots are taken as they come until max_connections is exhausted.
func leakerPod(ns, image string, n int) *corev1.Pod {
	script := fmt.Sprintf(`for i in $(seq %d); do
  (until psql -h aureus-postgres -U aureus -d aureus_metadata -qc 'SELECT 1' -c '\! sleep infinity'; do sleep 0.2; done) &
done
wait`, n)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: LeakerPod, Namespace: ns, Labels: map[string]string{"app": "firedrill", "firedrill/role": "fault"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "leaker", Image: image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"bash", "-c", script},
				Env: []corev1.EnvVar{
					{Name: "PGAPPNAME", Value: LeakerApp},
					{Name: "PGPASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "aureus-postgres"}, Key: "password"}}},
				},
			}},
		},
	}
}

func leakedSessions(ctx context.Context, d *drill.Drill) (int, error) {
	out, err := psql(ctx, d, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"+LeakerApp+"'")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out)
}

func queriesFail(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		s, err := d.CheckSteadyState(ctx)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("%d/%d queries failed: %s", s.Failed, s.Queries, strings.Join(s.Failures, "; ")), s.Failed > 0, nil
	})
}

// canarySurvives checks the row committed before the fault is still there.
func canarySurvives(ctx context.Context, d *drill.Drill) (string, error) {
	out, err := psql(ctx, d, "SELECT count(*) FROM canary WHERE note = 'canary "+d.ID+"'")
	if err != nil {
		return "", err
	}
	if out != "1" {
		return "", fmt.Errorf("canary row committed before the fault is gone (count %s)", out)
	}
	return "canary row committed before the fault survived", nil
}

// restartPostgres is Option A (LAST RESORT - data risk): restart the StatefulSet, then prove no
// committed row was lost.
func restartPostgres() drill.Option {
	return drill.Option{
		Letter: "A",
		Do: func(ctx context.Context, d *drill.Drill) error {
			if _, _, err := d.RolloutRestart(ctx, drill.StatefulSets, statefulSet); err != nil {
				return err
			}
			return d.WaitRollout(ctx, drill.StatefulSets, statefulSet)
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			canary, err := canarySurvives(ctx, d)
			if err != nil {
				return "", err
			}
			leaked, err := leakedSessions(ctx, d)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("postgres restarted, %d leaked sessions left; %s", leaked, canary), nil
		},
	}
}

// killIdle is Option B: terminate idle sessions. The runbook's query only takes sessions idle for
// more than 10 minutes, which a fresh leak has not reached; the Go step takes every idle session
// opened since the fault, over a superuser slot.
func killIdle() drill.Option {
	var leakedPIDs []string
	return drill.Option{
		Letter: "B",
		Prepare: func(ctx context.Context, d *drill.Drill) error {
			pids, err := psql(ctx, d, "SELECT pid FROM pg_stat_activity WHERE application_name = '"+LeakerApp+"'")
			leakedPIDs = strings.Fields(pids)
			return err
		},
		Do: func(ctx context.Context, d *drill.Drill) error {
			since := d.InjectedAt.Format("2006-01-02 15:04:05Z07:00")
			_, err := d.Mutate(ctx, "terminate idle sessions", "postgres/sessions", drill.Undo{}, func(ctx context.Context) error {
				_, err := psql(ctx, d, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE state = 'idle' "+
					"AND usename = 'aureus' AND backend_start >= '"+since+"' AND pid <> pg_backend_pid()")
				return err
			})
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			if len(leakedPIDs) == 0 {
				return "", fmt.Errorf("no leaked session found to terminate")
			}
			left, err := psql(ctx, d, "SELECT count(*) FROM pg_stat_activity WHERE pid IN ("+strings.Join(leakedPIDs, ",")+")")
			if err != nil {
				return "", err
			}
			if left != "0" {
				return "", fmt.Errorf("%s of the %d leaked sessions remain after termination", left, len(leakedPIDs))
			}
			reopened, err := leakedSessions(ctx, d)
			if err != nil {
				return "", err
			}
			canary, err := canarySurvives(ctx, d)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d leaked idle sessions terminated, 0 left (the hung client's pending attempts opened %d new ones); %s",
				len(leakedPIDs), reopened, canary), nil
		},
	}
}

// scaleDownUp is Option C: scale the frontend to 1 to relieve connection pressure, then back to 3.
func scaleDownUp() drill.Option {
	return drill.Option{
		Letter: "C",
		Do: func(ctx context.Context, d *drill.Drill) error {
			if _, _, err := d.Scale(ctx, drill.Deployments, frontend, 1); err != nil {
				return err
			}
			if _, err := waitPods(ctx, d, 1); err != nil {
				return err
			}
			_, _, err := d.Scale(ctx, drill.Deployments, frontend, frontendReplicas)
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			n, err := waitPods(ctx, d, frontendReplicas)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("frontend scaled to 1 and back to %d pods", n), nil
		},
	}
}

func waitPods(ctx context.Context, d *drill.Drill, want int) (int, error) {
	var n int
	_, err := drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		uids, err := d.PodUIDs(ctx, drill.FrontendSelector)
		if err != nil {
			return "", false, err
		}
		n = len(uids)
		return fmt.Sprintf("%d frontend pods", n), n == want, nil
	})
	return n, err
}
