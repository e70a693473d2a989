package drill

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/firedrill-dev/firedrill/harness/cluster"
)

func TestJournalPendingNewestFirstAndDone(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal", "d.jsonl")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, why := range []string{"first", "second", "third"} {
		if _, err := j.Record(Undo{Kind: "delete", Why: why}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Done(2); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves a torn last line: it is ignored, the rest still replays.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"seq":4,"undo":{"kind":"del`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	reopened, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := reopened.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pending {
		got = append(got, p.Undo.Why)
	}
	if want := []string{"third", "first"}; !slices.Equal(got, want) {
		t.Errorf("pending = %v, want %v (newest first, done ones left out)", got, want)
	}
	if seq, err := reopened.Record(Undo{Kind: "delete", Why: "fourth"}); err != nil || seq != 4 {
		t.Errorf("next seq after reopening = %d, %v; want 4", seq, err)
	}
}

func TestSnapshotRestoreAndDiff(t *testing.T) {
	t.Parallel()
	obj := func(replicas int64, annotations map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "aureus-frontend", "labels": map[string]any{"app": "aureus"}, "annotations": annotations},
			"spec":     map[string]any{"replicas": replicas},
		}}
	}
	base := obj(3, map[string]any{"deployment.kubernetes.io/revision": "4", "owner": "sre"})
	changed := obj(5, map[string]any{"deployment.kubernetes.io/revision": "7", "owner": "sre", "drill": "x"})

	cases := []struct {
		name      string
		before    *unstructured.Unstructured
		after     *unstructured.Unstructured
		wantDiffs []string
	}{
		{"identical", base, base, nil},
		{"only the controller's revision moved", base, obj(3, map[string]any{"deployment.kubernetes.io/revision": "9", "owner": "sre"}), nil},
		{"replicas and annotations changed", base, changed, []string{"deployments/x: annotations differs", "deployments/x: spec differs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			diffs := SpecSnapshot{"deployments/x": Snapshot(c.before)}.Diff(SpecSnapshot{"deployments/x": Snapshot(c.after)})
			if !slices.Equal(diffs, c.wantDiffs) {
				t.Errorf("diff = %v, want %v", diffs, c.wantDiffs)
			}
		})
	}

	restored := changed.DeepCopy()
	restoreSnapshot(restored, Snapshot(base))
	if d := (SpecSnapshot{"x": Snapshot(base)}).Diff(SpecSnapshot{"x": Snapshot(restored)}); len(d) != 0 {
		t.Errorf("restoring the snapshot left differences: %v", d)
	}
	if rev := restored.GetAnnotations()["deployment.kubernetes.io/revision"]; rev != "7" {
		t.Errorf("restore overwrote the controller's revision annotation: %q", rev)
	}
}

// A drill's cleanup replays its journal but keeps the lock's undo for last.
func TestReplayExceptKeepsOneUndoPending(t *testing.T) {
	t.Parallel()
	configMap := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetNamespace("aureus")
		u.SetName(name)
		return u
	}
	dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), configMap("lock"), configMap("a"), configMap("b"))
	c := &cluster.Cluster{Dynamic: dyn}
	j, err := OpenJournal(filepath.Join(t.TempDir(), "d.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lockSeq int
	for _, name := range []string{"lock", "a", "b"} {
		seq, err := j.Record(Undo{Kind: "delete", Why: name, Version: "v1", Resource: "configmaps", Namespace: "aureus", Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "lock" {
			lockSeq = seq
		}
	}
	if err := j.ReplayExcept(t.Context(), c, lockSeq); err != nil {
		t.Fatal(err)
	}
	configMaps := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("aureus")
	list, err := configMaps.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, item := range list.Items {
		left = append(left, item.GetName())
	}
	if !slices.Equal(left, []string{"lock"}) {
		t.Errorf("objects left after ReplayExcept = %v, want [lock]", left)
	}
	pending, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Seq != lockSeq {
		t.Errorf("pending after ReplayExcept = %+v, want only #%d", pending, lockSeq)
	}
	if err := j.Replay(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if pending, _ := j.Pending(); len(pending) != 0 {
		t.Errorf("pending after Replay = %+v, want none", pending)
	}
}
