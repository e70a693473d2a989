package ledger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/evidence"
)

func TestVerifyEvidence(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	pack, err := evidence.New(filepath.Join(root, "evidence"), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.AddLog(evidence.LogFrontend, evidence.Before, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), strings.NewReader("GET /health 503\n")); err != nil {
		t.Fatal(err)
	}
	m, err := pack.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, pack.Dir())
	if err != nil {
		t.Fatal(err)
	}
	records := []Record{
		{Seq: 1, EvidencePath: rel, EvidenceDigest: m.Digest},
		{Seq: 2, EvidencePath: rel, EvidenceDigest: "sha256:other"},
		{Seq: 3, EvidencePath: "gone/INC-9", EvidenceDigest: "sha256:x"},
		{Seq: 4}, // no pack
	}
	got := VerifyEvidence(records, root)
	want := []PackState{Intact, Mismatch, Absent}
	if len(got) != len(want) {
		t.Fatalf("checks = %+v", got)
	}
	for i, w := range want {
		if got[i].State != w || got[i].Record != i+1 {
			t.Errorf("check %d = %+v, want %s", i, got[i], w)
		}
	}

	// Alter a file of the pack: its record is reported altered.
	var logFile string
	for _, f := range m.Files {
		if strings.HasPrefix(f.Path, "logs/") {
			logFile = filepath.Join(pack.Dir(), filepath.FromSlash(f.Path))
		}
	}
	if logFile == "" {
		t.Fatalf("no log in manifest %+v", m.Files)
	}
	if err := os.WriteFile(logFile, []byte("GET /health 200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = VerifyEvidence(records[:1], root)
	if len(got) != 1 || got[0].State != Altered || !strings.Contains(got[0].String(), "record 1: evidence pack "+rel+": altered: logs/") {
		t.Fatalf("after the edit: %+v", got)
	}
}
