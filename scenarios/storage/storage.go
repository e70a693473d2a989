// Package storage drills the runbook's "Evidence Storage Full" scenario.
//
// The evidence volume is a size-limited tmpfs inside the kind node, so the fault fills a real, small
// filesystem to ENOSPC, never the host's disk. The fill is realistic evidence history: files older
// than the 90-day retention, files between 60 and 90 days old, recent files, and a recent bulk
// upload that takes the rest of the space.
package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

const (
	container   = "frontend"
	evidenceDir = "/app/evidence"
	// HistoryDir holds the drill's evidence history; the undo removes it whole.
	HistoryDir = evidenceDir + "/history"
	pvc        = "aureus-evidence-pvc"
)

// ageClasses are the ages the history is written with, and how many 1 MiB files of each.
var ageClasses = []struct {
	name  string
	days  int
	files int
}{
	{"past-retention", 120, 4}, // older than 90 days: the emergency cleanup may delete these
	{"archivable", 75, 3},      // 60-90 days: archive candidates, inside retention
	{"recent", 10, 2},
}

// Scenario is the storage drill. ArchiveDir is where Option A's archive store lives (a directory
// standing in for the runbook's S3 bucket).
type Scenario struct{ ArchiveDir string }

var _ drill.Scenario = Scenario{}

func (Scenario) Name() string       { return "storage" }
func (Scenario) Fault() drill.Fault { return fill{} }

func (Scenario) Symptoms() []drill.Symptom {
	return []drill.Symptom{
		{Text: "Evidence packs failing to save", Observe: evidenceRefused},
		{Text: `"Disk full" errors`, Observe: drill.LogLine(drill.FrontendSelector, container, "Disk full")},
		{Text: "Pod evictions (pods out of service: readiness fails on the full volume)", Observe: podsOutOfService},
	}
}

func (s Scenario) Options() []drill.Option {
	return []drill.Option{archive(s.ArchiveDir), expand(), cleanup()}
}

type fill struct{}

func (fill) Describe() string {
	return "evidence volume filled to ENOSPC with evidence history of realistic ages (120, 75 and 10 days)"
}

func (fill) Inject(ctx context.Context, d *drill.Drill) error {
	var script strings.Builder
	fmt.Fprintf(&script, "set -e\n")
	for _, c := range ageClasses {
		dir := HistoryDir + "/" + c.name
		fmt.Fprintf(&script, "mkdir -p %s\n", dir)
		for i := 1; i <= c.files; i++ {
			f := fmt.Sprintf("%s/evidence-%02d.bin", dir, i)
			fmt.Fprintf(&script, "head -c 1048576 /dev/urandom > %s\ntouch -d '%d days ago' %s\n", f, c.days, f)
		}
	}
	// The bulk upload stops at ENOSPC: that is the fault.
	fmt.Fprintf(&script, "mkdir -p %[1]s/bulk\nhead -c 256M /dev/zero > %[1]s/bulk/upload.bin 2>/dev/null || true\ndf -k %[2]s | tail -1\n", HistoryDir, evidenceDir)
	undo := drill.Undo{Kind: "exec", Why: "remove the drill's evidence history", Namespace: d.Namespace,
		Selector: drill.FrontendSelector, Container: container, Command: []string{"rm", "-rf", HistoryDir}}
	_, err := d.Mutate(ctx, "fill the evidence volume", "pvc/"+pvc, undo, func(ctx context.Context) error {
		out, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "sh", "-c", script.String())
		if err == nil {
			d.Note("volume after the fill", strings.TrimSpace(string(out)))
		}
		return err
	})
	return err
}

// evidenceRefused posts an evidence file straight to each frontend pod (readiness no longer
// matters) until one answers 507 Insufficient Storage.
func evidenceRefused(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		pods, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: drill.FrontendSelector})
		if err != nil || len(pods.Items) == 0 {
			return "", false, nil
		}
		p := pods.Items[0]
		res, err := d.Cluster.ProxyHTTP(ctx, d.Namespace, "pods", p.Name+":"+drill.FrontendPort, "POST", "/api/evidence",
			[]byte(`{"name":"incidents/`+d.ID+`/probe.md","content":"drill probe"}`), nil)
		if err != nil && res.Status == 0 {
			return "", false, nil
		}
		return fmt.Sprintf("pod %s answered %d to an evidence upload", p.Name, res.Status), res.Status == 507, nil
	})
}

func podsOutOfService(ctx context.Context, d *drill.Drill) (string, error) {
	return drill.Until(ctx, func(ctx context.Context) (string, bool, error) {
		ready, err := d.Cluster.ReadyPods(ctx, d.Namespace, drill.FrontendSelector)
		if err != nil {
			return "", false, nil
		}
		return fmt.Sprintf("%d frontend pods ready", len(ready)), len(ready) == 0, nil
	})
}

// listOlderThan lists evidence files older than days, with their sizes.
func listOlderThan(ctx context.Context, d *drill.Drill, days int) ([]string, error) {
	out, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "find", evidenceDir, "-type", "f", "-mtime", "+"+strconv.Itoa(days))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// archive is Option A: copy every file older than 60 days to the archive store, verify each copy's
// SHA-256 against the original before deleting anything, then delete the originals.
func archive(store string) drill.Option {
	type archived struct{ path, sum string }
	var done []archived
	return drill.Option{
		Letter: "A",
		Do: func(ctx context.Context, d *drill.Drill) error {
			files, err := listOlderThan(ctx, d, 60)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return errors.New("no evidence older than 60 days to archive")
			}
			dst := filepath.Join(store, d.ID)
			for _, f := range files {
				data, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "cat", f)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(data)
				target := filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(f, evidenceDir+"/")))
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(target, data, 0o644); err != nil {
					return err
				}
				copied, err := os.ReadFile(target)
				if err != nil {
					return err
				}
				if sha256.Sum256(copied) != sum {
					return fmt.Errorf("archive copy of %s does not match the original: nothing deleted", f)
				}
				done = append(done, archived{f, hex.EncodeToString(sum[:])})
			}
			// Every copy is verified: now the originals may go.
			var paths []string
			for _, a := range done {
				paths = append(paths, a.path)
			}
			_, err = d.Mutate(ctx, fmt.Sprintf("archive %d files older than 60 days to %s and delete them", len(done), dst), "pvc/"+pvc, drill.Undo{},
				func(ctx context.Context) error {
					_, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, append([]string{"rm", "-f"}, paths...)...)
					return err
				})
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			left, err := listOlderThan(ctx, d, 60)
			if err != nil {
				return "", err
			}
			if len(left) != 0 {
				return "", fmt.Errorf("%d files older than 60 days still on the volume", len(left))
			}
			dst := filepath.Join(store, d.ID)
			for _, a := range done {
				data, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(a.path, evidenceDir+"/"))))
				if err != nil {
					return "", err
				}
				if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.sum {
					return "", fmt.Errorf("archived %s differs from the original", a.path)
				}
			}
			free, err := freeKiB(ctx, d)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d files archived byte-for-byte (SHA-256 checked before deletion), originals deleted, %d KiB free", len(done), free), nil
		},
	}
}

func freeKiB(ctx context.Context, d *drill.Drill) (int, error) {
	out, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "sh", "-c", "df -k "+evidenceDir+" | awk 'NR==2 {print $4}'")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// expand is Option B: expand the PVC if the storage class supports it. The API server is asked
// with a server-side dry run; a refusal makes the option "not applicable here".
func expand() drill.Option {
	return drill.Option{
		Letter: "B",
		Do: func(ctx context.Context, d *drill.Drill) error {
			claim, err := d.Cluster.Clientset.CoreV1().PersistentVolumeClaims(d.Namespace).Get(ctx, pvc, metav1.GetOptions{})
			if err != nil {
				return err
			}
			class := ""
			if claim.Spec.StorageClassName != nil {
				class = *claim.Spec.StorageClassName
			}
			sc, err := d.Cluster.Clientset.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = d.Cluster.Clientset.CoreV1().PersistentVolumeClaims(d.Namespace).Patch(ctx, pvc, types.StrategicMergePatchType,
				[]byte(`{"spec":{"resources":{"requests":{"storage":"100Gi"}}}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			expandable := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
			if err != nil || !expandable {
				reason := fmt.Sprintf("storage class %s has allowVolumeExpansion=%v", class, expandable)
				if err != nil {
					reason += "; the API server refuses the runbook's patch: " + err.Error()
				}
				return fmt.Errorf("%w: %s", drill.ErrNotApplicable, reason)
			}
			return errors.New("this storage class allows expansion: drilling a real expansion is not implemented")
		},
		Verify: func(context.Context, *drill.Drill) (string, error) { return "", nil },
	}
}

// cleanup is Option C (requires approval): delete evidence past the 90-day retention, and only that.
func cleanup() drill.Option {
	var before map[string]int
	return drill.Option{
		Letter: "C",
		Prepare: func(ctx context.Context, d *drill.Drill) (err error) {
			before, err = countByAge(ctx, d)
			return err
		},
		Do: func(ctx context.Context, d *drill.Drill) error {
			_, err := d.Mutate(ctx, "delete evidence older than the 90-day retention", "pvc/"+pvc, drill.Undo{}, func(ctx context.Context) error {
				_, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "find", evidenceDir, "-type", "f", "-mtime", "+90", "-delete")
				return err
			})
			return err
		},
		Verify: func(ctx context.Context, d *drill.Drill) (string, error) {
			after, err := countByAge(ctx, d)
			if err != nil {
				return "", err
			}
			if after["past-retention"] != 0 {
				return "", fmt.Errorf("%d files past retention remain", after["past-retention"])
			}
			for _, class := range []string{"archivable", "recent"} {
				if after[class] != before[class] {
					return "", fmt.Errorf("cleanup deleted %s files inside retention (%d -> %d)", class, before[class], after[class])
				}
			}
			return fmt.Sprintf("deleted %d files past retention; kept %d files of 60-90 days and %d recent ones",
				before["past-retention"], after["archivable"], after["recent"]), nil
		},
	}
}

// countByAge counts evidence files by age class: past retention (>90 days), 60-90 days, recent.
func countByAge(ctx context.Context, d *drill.Drill) (map[string]int, error) {
	counts := map[string]int{}
	over90, err := listOlderThan(ctx, d, 90)
	if err != nil {
		return nil, err
	}
	over60, err := listOlderThan(ctx, d, 60)
	if err != nil {
		return nil, err
	}
	all, err := d.ExecIn(ctx, drill.FrontendSelector, container, nil, "find", evidenceDir, "-type", "f")
	if err != nil {
		return nil, err
	}
	counts["past-retention"] = len(over90)
	counts["archivable"] = len(over60) - len(over90)
	counts["recent"] = len(bytes.Fields(all)) - len(over60)
	return counts, nil
}
