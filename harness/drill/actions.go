package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/firedrill-dev/firedrill/harness/cluster"
)

// Resources the drills act on.
var (
	Deployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	StatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	ConfigMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	Pods         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// RestoreUndo snapshots an object now so that the returned Undo puts it back as it is.
func (d *Drill) RestoreUndo(ctx context.Context, gvr schema.GroupVersionResource, name, why string) (Undo, error) {
	obj, err := d.Cluster.Dynamic.Resource(gvr).Namespace(d.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Undo{}, fmt.Errorf("snapshot %s/%s: %w", gvr.Resource, name, err)
	}
	snap, err := json.Marshal(Snapshot(obj))
	if err != nil {
		return Undo{}, err
	}
	return Undo{Kind: "restore", Why: why, Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource,
		Namespace: d.Namespace, Name: name, Snapshot: snap}, nil
}

// Patch applies a strategic merge patch to an object after journaling how to restore it.
func (d *Drill) Patch(ctx context.Context, gvr schema.GroupVersionResource, name, what string, patch any) (int, Undo, error) {
	undo, err := d.RestoreUndo(ctx, gvr, name, "restore "+gvr.Resource+"/"+name+" after: "+what)
	if err != nil {
		return 0, undo, err
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return 0, undo, err
	}
	patchType := types.StrategicMergePatchType
	seq, err := d.Mutate(ctx, what, gvr.Resource+"/"+name, undo, func(ctx context.Context) error {
		_, err := d.Cluster.Dynamic.Resource(gvr).Namespace(d.Namespace).Patch(ctx, name, patchType, data,
			metav1.PatchOptions{FieldManager: cluster.FieldManager})
		return err
	})
	return seq, undo, err
}

// RolloutRestart does what `kubectl rollout restart` does: a new restartedAt template annotation.
func (d *Drill) RolloutRestart(ctx context.Context, gvr schema.GroupVersionResource, name string) (int, Undo, error) {
	patch := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{"kubectl.kubernetes.io/restartedAt": time.Now().Format(time.RFC3339)}}}}}
	return d.Patch(ctx, gvr, name, "rollout restart "+gvr.Resource+"/"+name, patch)
}

// SetEnv does what `kubectl set env` does for one container of a Deployment.
func (d *Drill) SetEnv(ctx context.Context, deployment, container string, env map[string]string) (int, Undo, error) {
	dep, err := d.Cluster.Clientset.AppsV1().Deployments(d.Namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return 0, Undo{}, err
	}
	modified := dep.DeepCopy()
	found := false
	for i := range modified.Spec.Template.Spec.Containers {
		c := &modified.Spec.Template.Spec.Containers[i]
		if c.Name != container {
			continue
		}
		found = true
		for k, v := range env {
			replaced := false
			for j := range c.Env {
				if c.Env[j].Name == k {
					c.Env[j] = corev1.EnvVar{Name: k, Value: v}
					replaced = true
				}
			}
			if !replaced {
				c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
			}
		}
	}
	if !found {
		return 0, Undo{}, fmt.Errorf("deployment %s has no container %q", deployment, container)
	}
	patch, err := twoWayPatch(dep, modified)
	if err != nil {
		return 0, Undo{}, err
	}
	return d.Patch(ctx, Deployments, deployment, fmt.Sprintf("set env %v on deployment/%s", keys(env), deployment), patch)
}

func twoWayPatch(original, modified *appsv1.Deployment) (json.RawMessage, error) {
	a, err := json.Marshal(original)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(modified)
	if err != nil {
		return nil, err
	}
	return strategicpatch.CreateTwoWayMergePatch(a, b, appsv1.Deployment{})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Scale sets a workload's replicas, as `kubectl scale` does.
func (d *Drill) Scale(ctx context.Context, gvr schema.GroupVersionResource, name string, replicas int32) (int, Undo, error) {
	return d.Patch(ctx, gvr, name, fmt.Sprintf("scale %s/%s to %d", gvr.Resource, name, replicas),
		map[string]any{"spec": map[string]any{"replicas": replicas}})
}

// ExecIn runs a command in the first ready pod matching selector and returns its stdout.
func (d *Drill) ExecIn(ctx context.Context, selector, container string, stdin io.Reader, command ...string) ([]byte, error) {
	pods, err := d.Cluster.ExecPods(ctx, d.Namespace, selector)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("no running pod matches %s", selector)
	}
	res, err := d.Cluster.Exec(ctx, d.Namespace, pods[0].Name, container, stdin, command...)
	return res.Stdout, err
}

// WaitRollout waits for a workload to be fully rolled out.
func (d *Drill) WaitRollout(ctx context.Context, gvr schema.GroupVersionResource, name string) error {
	return d.Cluster.WaitRollout(ctx, gvr, d.Namespace, name)
}

// PodUIDs returns the UIDs of the pods matching selector, to prove pods were replaced.
func (d *Drill) PodUIDs(ctx context.Context, selector string) (map[string]bool, error) {
	list, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	uids := map[string]bool{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			uids[string(p.UID)] = true
		}
	}
	return uids, nil
}
