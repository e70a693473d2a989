package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// FieldManager owns every field firedrill applies.
const FieldManager = "firedrill"

// Render builds a kustomization directory and points each container image whose repository is a
// key of images at that image's full reference.
func Render(dir string, images []string) ([]*unstructured.Unstructured, error) {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	byRepo := map[string]string{}
	for _, ref := range images {
		byRepo[repository(ref)] = ref
	}
	var objs []*unstructured.Unstructured
	for _, res := range resMap.Resources() {
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, err
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		if err := setImages(obj, byRepo); err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// repository is "firedrill.local/aureus-frontend" for "firedrill.local/aureus-frontend:abc".
func repository(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

func setImages(obj *unstructured.Unstructured, byRepo map[string]string) error {
	for _, field := range []string{"containers", "initContainers"} {
		path := []string{"spec", "template", "spec", field}
		containers, found, err := unstructured.NestedSlice(obj.Object, path...)
		if err != nil || !found {
			continue
		}
		for _, c := range containers {
			container, ok := c.(map[string]any)
			if !ok {
				continue
			}
			image, _ := container["image"].(string)
			if ref, ok := byRepo[repository(image)]; ok {
				container["image"] = ref
			}
		}
		if err := unstructured.SetNestedSlice(obj.Object, containers, path...); err != nil {
			return err
		}
	}
	return nil
}

// Apply server-side applies objects in order.
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Clientset.Discovery()))
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("map %s: %w", gvk, err)
		}
		client := c.Dynamic.Resource(mapping.Resource)
		var ri interface {
			Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
		} = client
		if ns := obj.GetNamespace(); ns != "" {
			ri = client.Namespace(ns)
		}
		if _, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// WaitRolledOut waits until every Deployment, StatefulSet and DaemonSet among objs is rolled out as
// `kubectl rollout status` judges it: observed generation current, all replicas updated and available.
func (c *Cluster) WaitRolledOut(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		if gvk.Group != "apps" {
			continue
		}
		gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: strings.ToLower(gvk.Kind) + "s"}
		if err := c.WaitRollout(ctx, gvr, obj.GetNamespace(), obj.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// WaitRollout waits for one workload's rollout to complete.
func (c *Cluster) WaitRollout(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) error {
	viewer, err := statusViewer(gvr)
	if err != nil {
		return err
	}
	start := time.Now()
	var last string
	err = c.WaitFor(ctx, gvr, ns, name, func(obj *unstructured.Unstructured) (bool, error) {
		msg, done, err := viewer.Status(obj, 0)
		last = strings.TrimSpace(msg)
		return done, err
	})
	if err != nil {
		return fmt.Errorf("rollout of %s %s/%s: %w (last status: %s)", gvr.Resource, ns, name, err, last)
	}
	c.log.V(1).Info("rolled out", "resource", gvr.Resource, "name", name, "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	return nil
}

// RolledOut tells whether a workload's current spec is fully rolled out, as kubectl rollout status
// would say, without waiting.
func (c *Cluster) RolledOut(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (bool, error) {
	viewer, err := statusViewer(gvr)
	if err != nil {
		return false, err
	}
	obj, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	_, done, err := viewer.Status(obj, 0)
	return done && err == nil, nil
}

// WaitObserved waits until the workload's controller has seen its current spec (observedGeneration),
// for a spec that is not expected to roll out completely, such as a broken release put back.
func (c *Cluster) WaitObserved(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) error {
	return c.WaitFor(ctx, gvr, ns, name, func(obj *unstructured.Unstructured) (bool, error) {
		observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
		return observed >= obj.GetGeneration(), nil
	})
}

// statusViewer is kubectl's rollout status logic for the workload's kind.
func statusViewer(gvr schema.GroupVersionResource) (polymorphichelpers.StatusViewer, error) {
	return polymorphichelpers.StatusViewerFor(schema.GroupKind{Group: gvr.Group, Kind: kindOf(gvr.Resource)})
}

func kindOf(resource string) string {
	switch resource {
	case "deployments":
		return "Deployment"
	case "statefulsets":
		return "StatefulSet"
	case "daemonsets":
		return "DaemonSet"
	}
	return resource
}

// WaitFor watches one object until cond holds, the context ends, or cond fails.
func (c *Cluster) WaitFor(ctx context.Context, gvr schema.GroupVersionResource, ns, name string, cond func(*unstructured.Unstructured) (bool, error)) error {
	client := c.Dynamic.Resource(gvr).Namespace(ns)
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = selector
			return client.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector
			return client.Watch(ctx, opts)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(ev watch.Event) (bool, error) {
		obj, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		return cond(obj)
	})
	return err
}
