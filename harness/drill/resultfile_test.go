package drill_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

func TestWriteResultReadResultsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "results")
	t0 := time.Date(2026, 11, 26, 18, 26, 41, 0, time.UTC)
	later := drill.Result{
		ID: "DRILL-20261126T182641Z-database", Scenario: "database", Severity: "P1", Started: t0,
		InjectedAt: t0.Add(time.Second), ResponseTarget: 15 * time.Minute,
		Phases:   map[string]time.Duration{drill.PhaseDetect: 3 * time.Minute},
		Options:  []drill.OptionResult{{Letter: "B", Title: "Kill idle connections", Line: 154, Ran: true, Recovered: true, Duration: 2 * time.Second}},
		Findings: []validate.Finding{{Level: validate.Error, Check: "live-failed", Line: 137, Reason: "fails when run"}},
		Events: []drill.Event{
			{At: t0, Phase: drill.PhaseBaseline, What: "phase started", Detail: drill.PhaseBaseline},
			{At: t0.Add(time.Second), Phase: drill.PhaseInject, What: "phase started", Detail: drill.PhaseInject},
		},
		Passed: false, Failure: "option C: context canceled",
	}
	earlier := drill.Result{ID: "DRILL-20261126T181954Z-policy", Scenario: "policy", Started: t0.Add(-7 * time.Minute), Passed: true}

	for _, res := range []drill.Result{later, earlier} {
		path, err := drill.WriteResult(dir, res)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, res.ID+".json"); path != want {
			t.Errorf("WriteResult path = %s, want %s", path, want)
		}
	}
	// Rewriting a result replaces its file and leaves no temporary file behind.
	if _, err := drill.WriteResult(dir, later); err != nil {
		t.Fatal(err)
	}
	// What is not a result file is ignored: a temporary file, a dot file, another extension, a directory.
	for name, data := range map[string]string{".DRILL-x.json.123.tmp": "{", ".hidden.json": "{", "notes.txt": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 {
		t.Errorf("results dir has %d entries, want the 2 results and the 4 planted ones", len(entries))
	}

	got, err := drill.ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != earlier.ID || got[1].ID != later.ID {
		t.Fatalf("ReadResults = %v, want %s then %s (oldest first)", ids(got), earlier.ID, later.ID)
	}
	if !reflect.DeepEqual(got[1], later) {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", got[1], later)
	}
}

func TestWriteResultReadResultsErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		run   func(dir string) error
		want  string
		isErr error
	}{
		{name: "no id", want: "no drill id", run: func(dir string) error {
			_, err := drill.WriteResult(dir, drill.Result{})
			return err
		}},
		{name: "id with a path", want: "not a file name", run: func(dir string) error {
			_, err := drill.WriteResult(dir, drill.Result{ID: "../escape"})
			return err
		}},
		{name: "missing dir", isErr: fs.ErrNotExist, run: func(dir string) error {
			_, err := drill.ReadResults(filepath.Join(dir, "absent"))
			return err
		}},
		{name: "torn file", want: "torn.json", run: func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "torn.json"), []byte(`{"id":"DRILL-`), 0o644); err != nil {
				return err
			}
			_, err := drill.ReadResults(dir)
			return err
		}},
		{name: "not a result", want: "not a drill result", run: func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"scenarios":[]}`), 0o644); err != nil {
				return err
			}
			_, err := drill.ReadResults(dir)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			err := c.run(dir)
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q does not say %q", err, c.want)
			case c.isErr != nil && !errors.Is(err, c.isErr):
				t.Errorf("error %q is not %v", err, c.isErr)
			}
			if entries, _ := os.ReadDir(dir); c.name == "no id" && len(entries) != 0 {
				t.Errorf("a refused result left %d files", len(entries))
			}
		})
	}
}

func ids(rs []drill.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
