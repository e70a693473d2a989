//go:build linux

package evidence_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/internal/testfs"
)

// fullDisk is a new directory on a full filesystem, holding what prepare wrote (testfs.MountFull).
func fullDisk(t *testing.T, prepare func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	testfs.MountFull(t, dir, prepare)
	return dir
}

// TestFullDisk: on a full filesystem every write to a pack fails with one line naming the pack's
// directory and "no space left on device", and leaves the filesystem exactly as it was: no partial
// file, no temporary file, no half-made pack, and an earlier sealed pack intact. (The CLI writes
// packs only during a drill, on the drill cluster; this is the library the drill writes them with.)
func TestFullDisk(t *testing.T) {
	t.Parallel()
	const sealed, openID, fresh = "INC-1", "INC-2", "INC-3"
	at := time.Date(2026, 11, 26, 15, 31, 0, 0, time.UTC)
	hint := ": no space left on device: free space on its filesystem or write evidence elsewhere (--artifacts)"
	cases := []struct {
		name string
		op   func(p *evidence.Pack, root string) error // p is the open pack INC-2
		want string                                    // the error; %s is the open pack's directory
	}{
		{"new pack", func(_ *evidence.Pack, root string) error {
			_, err := evidence.New(root, fresh)
			return err
		}, "create evidence pack " + filepath.Join("ROOT", "incidents", fresh) + hint},
		{"add log", func(p *evidence.Pack, _ string) error {
			_, err := p.AddLog(evidence.LogFrontend, evidence.During, at, strings.NewReader("GET / 503\n"))
			return err
		}, "add log frontend to evidence pack PACK" + hint},
		{"add diagnosis", func(p *evidence.Pack, _ string) error {
			_, err := p.AddDiagnosis(1, "Check pods", "kubectl get pods -n aureus", []byte("NAME READY\n"))
			return err
		}, "add diagnosis step 1 to evidence pack PACK" + hint},
		{"record change", func(p *evidence.Pack, _ string) error {
			return p.RecordChange(evidence.Change{ID: "C1", What: "rollout undo", Resource: "deployment/aureus-frontend", At: at, By: "firedrill"})
		}, "write changes.json in evidence pack PACK" + hint},
		{"record approval", func(p *evidence.Pack, _ string) error {
			return p.RecordApproval(evidence.Approval{ID: "A1", Action: "rollout undo", Who: "ic", Role: "incident commander", At: at, Why: "drill"})
		}, "write approvals.json in evidence pack PACK" + hint},
		{"set timeline", func(p *evidence.Pack, _ string) error {
			return p.SetTimeline(at, []evidence.Event{{At: at, What: "fault injected"}})
		}, "write timeline.md in evidence pack PACK" + hint},
		{"seal", func(p *evidence.Pack, _ string) error {
			_, err := p.Finalize()
			return err
		}, "seal evidence pack PACK" + hint},
		{"mark incomplete", func(p *evidence.Pack, _ string) error {
			_, err := p.MarkIncomplete("interrupted")
			return err
		}, "seal evidence pack PACK" + hint},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var root string
			var open *evidence.Pack
			disk := fullDisk(t, func(dir string) {
				root = filepath.Join(dir, "artifacts", "evidence")
				p, err := evidence.New(root, sealed)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.AddLog(evidence.LogEvents, evidence.Before, at, strings.NewReader("BackOff\n")); err != nil {
					t.Fatal(err)
				}
				if _, err := p.Finalize(); err != nil {
					t.Fatal(err)
				}
				if open, err = evidence.New(root, openID); err != nil {
					t.Fatal(err)
				}
			})
			before := testfs.Snapshot(t, disk)

			err := c.op(open, root)
			want := strings.NewReplacer("ROOT", root, "PACK", open.Dir()).Replace(c.want)
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
			if !errors.Is(err, evidence.ErrNoSpace) {
				t.Errorf("error %v does not match ErrNoSpace", err)
			}
			if after := testfs.Snapshot(t, disk); !maps.Equal(after, before) {
				t.Errorf("the full filesystem changed:\nbefore %v\nafter  %v", keys(before), keys(after))
			}
			if problems, err := evidence.Verify(filepath.Join(root, "incidents", sealed)); err != nil || len(problems) > 0 {
				t.Errorf("the sealed pack: %v, %v", problems, err)
			}

			// With space again the same write succeeds: the failure left nothing in its way.
			if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
				t.Fatal(err)
			}
			if err := c.op(open, root); err != nil {
				t.Errorf("with space again: %v", err)
			}
		})
	}
}

func keys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
