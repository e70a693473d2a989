package drill

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/firedrill-dev/firedrill/harness/cluster"
)

// Undo says how to take back one mutation. It is written to the journal before the mutation, so a
// crash at any point leaves enough on disk to restore the stack (`firedrill cleanup`).
type Undo struct {
	// Kind is "restore" (put an object's snapshot back), "delete" (remove an object the drill
	// created) or "exec" (run a command in the first pod matching Selector).
	Kind      string          `json:"kind"`
	Why       string          `json:"why"`
	Group     string          `json:"group,omitempty"`
	Version   string          `json:"version,omitempty"`
	Resource  string          `json:"resource,omitempty"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name,omitempty"`
	Snapshot  json.RawMessage `json:"snapshot,omitempty"`
	Selector  string          `json:"selector,omitempty"`
	Container string          `json:"container,omitempty"`
	Command   []string        `json:"command,omitempty"`
}

func (u Undo) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: u.Group, Version: u.Version, Resource: u.Resource}
}

type journalLine struct {
	Seq    int       `json:"seq"`
	At     time.Time `json:"at"`
	Undo   *Undo     `json:"undo,omitempty"`
	Undone bool      `json:"undone,omitempty"`
}

// Journal is the on-disk undo journal of one drill.
type Journal struct {
	path string
	mu   sync.Mutex
	seq  int
}

// OpenJournal opens (creating) the journal at path.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	j := &Journal{path: path}
	lines, err := j.read()
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		j.seq = max(j.seq, l.Seq)
	}
	return j, nil
}

// Path is where the journal lives.
func (j *Journal) Path() string { return j.path }

// Record writes u and returns its sequence number; call it before the mutation u undoes.
func (j *Journal) Record(u Undo) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	return j.seq, j.append(journalLine{Seq: j.seq, At: time.Now().UTC(), Undo: &u})
}

// Done marks entry seq as undone (or no longer needed).
func (j *Journal) Done(seq int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.append(journalLine{Seq: seq, At: time.Now().UTC(), Undone: true})
}

func (j *Journal) append(l journalLine) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open undo journal: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write undo journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (j *Journal) read() ([]journalLine, error) {
	f, err := os.Open(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []journalLine
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; s.Scan(); n++ {
		var l journalLine
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			// A torn last line (crash mid-write) is ignored: its mutation never started.
			continue
		}
		lines = append(lines, l)
	}
	return lines, s.Err()
}

// PendingEntry is an undo not yet carried out.
type PendingEntry struct {
	Seq  int
	Undo Undo
}

// Pending lists undos not yet done, newest first (the order to replay them in).
func (j *Journal) Pending() ([]PendingEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	lines, err := j.read()
	if err != nil {
		return nil, err
	}
	done := map[int]bool{}
	for _, l := range lines {
		if l.Undone {
			done[l.Seq] = true
		}
	}
	var pending []PendingEntry
	for i := len(lines) - 1; i >= 0; i-- {
		if l := lines[i]; l.Undo != nil && !done[l.Seq] {
			pending = append(pending, PendingEntry{Seq: l.Seq, Undo: *l.Undo})
		}
	}
	return pending, nil
}

// Replay carries out every pending undo, newest first, and marks each done. It keeps going past
// failures and returns them all, so one stuck undo does not leave the others behind.
func (j *Journal) Replay(ctx context.Context, c *cluster.Cluster) error {
	return j.ReplayExcept(ctx, c, keepNone)
}

// keepNone is no sequence number: Record numbers undos from 1.
const keepNone = 0

// ReplayExcept is Replay leaving the undo numbered keep pending (keepNone: none): a running drill's
// lock is released only after its cleanup has checked the stack.
func (j *Journal) ReplayExcept(ctx context.Context, c *cluster.Cluster, keep int) error {
	pending, err := j.Pending()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pending {
		if p.Seq == keep {
			continue
		}
		if err := Apply(ctx, c, p.Undo); err != nil {
			errs = append(errs, fmt.Errorf("undo #%d (%s): %w", p.Seq, p.Undo.Why, err))
			continue
		}
		if err := j.Done(p.Seq); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// execUndoTimeout bounds how long an exec undo waits for a pod to run it in.
const execUndoTimeout = 2 * time.Minute

// Apply carries out one undo against the cluster.
func Apply(ctx context.Context, c *cluster.Cluster, u Undo) error {
	switch u.Kind {
	case "restore":
		var snap map[string]any
		if err := json.Unmarshal(u.Snapshot, &snap); err != nil {
			return err
		}
		client := c.Dynamic.Resource(u.gvr()).Namespace(u.Namespace)
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := client.Get(ctx, u.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			restoreSnapshot(cur, snap)
			_, err = client.Update(ctx, cur, metav1.UpdateOptions{FieldManager: cluster.FieldManager})
			return err
		})
	case "delete":
		policy := metav1.DeletePropagationForeground
		grace := int64(0)
		res := c.Dynamic.Resource(u.gvr()).Namespace(u.Namespace)
		err := res.Delete(ctx, u.Name, metav1.DeleteOptions{PropagationPolicy: &policy, GracePeriodSeconds: &grace})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		// Gone means gone: a deleted pod's processes and connections end only when it is removed.
		for {
			if _, err := res.Get(ctx, u.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s/%s still present after delete: %w", u.Resource, u.Name, ctx.Err())
			case <-time.After(250 * time.Millisecond):
			}
		}
	case "exec":
		// An earlier undo may be rolling the very pods this one runs in (a restored template
		// restarts them): keep trying until a pod runs the command or the time is up.
		ctx, cancel := context.WithTimeout(ctx, execUndoTimeout)
		defer cancel()
		var last error
		for {
			pods, err := c.ExecPods(ctx, u.Namespace, u.Selector)
			switch {
			case err != nil:
				last = err
			case len(pods) == 0:
				last = fmt.Errorf("no running pod matches %q", u.Selector)
			default:
				if _, last = c.Exec(ctx, u.Namespace, pods[0].Name, u.Container, nil, u.Command...); last == nil {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return last
			case <-time.After(time.Second):
			}
		}
	}
	return fmt.Errorf("unknown undo kind %q", u.Kind)
}

// serverManaged annotations are set by controllers, not by whoever owns the object's spec.
var serverManaged = map[string]bool{
	"deployment.kubernetes.io/revision":                true,
	"kubectl.kubernetes.io/last-applied-configuration": true,
}

// Snapshot keeps what a drill may change on an object: labels, annotations, spec and data.
func Snapshot(obj *unstructured.Unstructured) map[string]any {
	snap := map[string]any{}
	for _, field := range []string{"spec", "data", "binaryData"} {
		if v, ok := obj.Object[field]; ok {
			snap[field] = deepCopy(v)
		}
	}
	snap["labels"] = toAny(obj.GetLabels())
	annotations := map[string]any{}
	for k, v := range obj.GetAnnotations() {
		if !serverManaged[k] {
			annotations[k] = v
		}
	}
	snap["annotations"] = annotations
	return snap
}

func restoreSnapshot(obj *unstructured.Unstructured, snap map[string]any) {
	for _, field := range []string{"spec", "data", "binaryData"} {
		if v, ok := snap[field]; ok {
			obj.Object[field] = deepCopy(v)
		} else {
			delete(obj.Object, field)
		}
	}
	obj.SetLabels(toStrings(snap["labels"]))
	annotations := toStrings(snap["annotations"])
	for k, v := range obj.GetAnnotations() {
		if serverManaged[k] {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[k] = v
		}
	}
	obj.SetAnnotations(annotations)
}

func deepCopy(v any) any {
	data, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toStrings(v any) map[string]string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, val := range m {
		out[k], _ = val.(string)
	}
	return out
}
