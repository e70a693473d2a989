package main

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/firedrill-dev/firedrill/internal/testfs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Bad input as a user meets it: the CLI built once and run as a real process, so the test sees
// what main prints and the exit code it uses. Each case asserts the whole one-line message, the
// exit code, an empty stdout, and that the files involved are byte-for-byte what they were, with
// nothing added beside them (no temporary or partial file).
//
// Two bad inputs are tested one level down, because no CLI command reaches them without a drill
// cluster (only 'firedrill drill' appends to the ledger and writes evidence packs):
//   - a ledger locked by another process: harness/ledger TestLockedLedger;
//   - a full disk under the evidence packs: harness/evidence TestFullDisk.

// cliDir holds the binary cli builds, the first time a test asks for it; TestMain removes it.
var cliDir string

// cli builds the firedrill binary once for every test of the package that runs it.
var cli = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "firedrill-cli-")
	if err != nil {
		return "", err
	}
	cliDir = dir
	bin := filepath.Join(dir, "firedrill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if cliDir != "" {
		os.RemoveAll(cliDir)
	}
	os.Exit(code)
}

// runCLI runs the built CLI in dir with extra environment variables and returns its output and
// exit code.
func runCLI(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := cli()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "DOCKER_HOST=") || strings.HasPrefix(kv, "XDG_CACHE_HOME=")
	}), "XDG_CACHE_HOME="+filepath.Join(dir, "cache")) // an images build would cache here
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// mountFull is testfs.MountFull with the cases' setup functions.
func mountFull(t *testing.T, dir string, prepare func(t *testing.T, dir string)) {
	t.Helper()
	testfs.MountFull(t, dir, func(dir string) { prepare(t, dir) })
}

// What a case needs from the machine; a case whose need is not met is skipped.
const (
	needDockerCLI = 1 << iota // the docker command, to point it at a stopped engine
	needDocker                // a running engine, to ask kind which clusters exist
	needRoot                  // to mount a tmpfs and fill it
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	seed, err := os.ReadFile(seedRunbook)
	if err != nil {
		t.Fatal(err)
	}
	seedConfig, err := os.ReadFile("../../fixtures/runbooks/incident-response.severity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	duplicate, err := os.ReadFile("../../fixtures/runbooks/testdata/duplicate-scenario.md")
	if err != nil {
		t.Fatal(err)
	}
	badResponseTime, err := os.ReadFile("../../fixtures/runbooks/testdata/bad-response-time.md")
	if err != nil {
		t.Fatal(err)
	}
	goodLedger, err := os.ReadFile(writeLedger(t, "frontend", "database", "storage"))
	if err != nil {
		t.Fatal(err)
	}
	records := bytes.SplitAfter(goodLedger, []byte("\n"))
	// The runbook and its config, as a user's checkout has them, in dir.
	runbook := func(t *testing.T, dir string) {
		writeFiles(t, dir, "incident-response.md", string(seed), "incident-response.severity.yaml", string(seedConfig))
	}
	withLedger := func(ledger []byte) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			runbook(t, dir)
			writeFiles(t, dir, "ledger.jsonl", string(ledger))
		}
	}
	// A PATH with the tools a shell has but no docker.
	noDocker := "PATH=" + filepath.Join(t.TempDir(), "empty-bin")
	stoppedDocker := "DOCKER_HOST=unix:///nonexistent.sock"
	missing := fmt.Sprintf("firedrill-missing-%08x", rand.Uint32()) // never the drill cluster "firedrill"
	const reportArgs = "report --runbook incident-response.md --ledger ledger.jsonl --now 2026-11-26"
	notRunbook := `: give a runbook with "### Scenario N: Title" sections`

	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) // writes the case's files into its directory, the CLI's working directory
		env   []string
		args  string // split on spaces
		needs int
		code  int
		want  string // stderr without "firedrill: " and the newline
		// stdoutOf, when set, are arguments whose output stdout must equal (the command prints a
		// report before it fails); otherwise stdout must be empty.
		stdoutOf string
	}{
		// Unknown scenario.
		{name: "unknown scenario", setup: runbook, args: "scenarios --check nosuch incident-response.md", code: 2,
			want: `unknown scenario "nosuch": the runbook has frontend, database, storage, policy, ratelimit`},
		{name: "unknown scenario to drill", setup: runbook, args: "drill nosuch --runbook incident-response.md", code: 2,
			want: `unknown scenario "nosuch": drillable scenarios of incident-response.md are frontend, database, storage, policy, ratelimit`},

		// Malformed or missing runbook, to every command that reads one.
		{name: "binary runbook", setup: files("garbage.md", "\x00\x01\xfe\xff\x00binary"), args: "validate garbage.md", code: 2,
			want: `garbage.md: not a runbook: the file is not UTF-8 text` + notRunbook},
		{name: "empty runbook", setup: files("empty.md", ""), args: "validate empty.md", code: 2,
			want: `empty.md: not a runbook: no "Scenario N: Title" heading found` + notRunbook},
		{name: "runbook without scenarios", setup: files("notes.md", "# Notes\n\nNothing about incidents.\n"), args: "validate notes.md", code: 2,
			want: `notes.md: not a runbook: no "Scenario N: Title" heading found` + notRunbook},
		{name: "runbook with a scenario twice", setup: files("dup.md", string(duplicate)), args: "validate dup.md", code: 2,
			want: `dup.md:11: scenario 1 is defined twice (first at line 3)`},
		{name: "missing runbook", args: "validate missing.md", code: 2,
			want: "runbook missing.md does not exist: give the path to a Markdown runbook"},
		{name: "runbook is a directory", setup: func(t *testing.T, dir string) { mkdir(t, dir, "runbooks") }, args: "validate runbooks", code: 2,
			want: "runbook runbooks is a directory: give the path to a Markdown runbook file"},
		{name: "binary runbook to report", setup: files("garbage.md", "\x00\x01\xfe\xff\x00binary", "ledger.jsonl", ""),
			args: "report --runbook garbage.md --ledger ledger.jsonl", code: 2,
			want: `garbage.md: not a runbook: the file is not UTF-8 text` + notRunbook},
		{name: "empty runbook to report", setup: files("empty.md", "", "ledger.jsonl", ""), args: "report --runbook empty.md --ledger ledger.jsonl", code: 2,
			want: `empty.md: not a runbook: no "Scenario N: Title" heading found` + notRunbook},
		{name: "missing runbook to report", setup: files("ledger.jsonl", ""), args: "report --runbook missing.md --ledger ledger.jsonl", code: 2,
			want: "runbook missing.md does not exist: give the path to a Markdown runbook"},
		{name: "empty runbook to scenarios", setup: files("empty.md", ""), args: "scenarios empty.md", code: 2,
			want: `empty.md: not a runbook: no "Scenario N: Title" heading found` + notRunbook},
		{name: "unparseable response time", setup: files("bad.md", string(badResponseTime)),
			args: "validate bad.md", code: 2,
			want: `bad.md:6: severity P1: response time "as soon as possible" is not a duration: write it like "5 minutes" or "1 hour"`},
		{name: "missing config", setup: runbook, args: "validate --config nope.yaml incident-response.md", code: 2,
			want: "config nope.yaml does not exist: give a scenario config or leave --config out"},

		// Bad arguments.
		{name: "validate without a runbook", args: "validate", code: 2, want: "validate needs one runbook: firedrill validate RUNBOOK.md"},
		{name: "validate two runbooks", args: "validate a.md b.md", code: 2, want: "validate needs one runbook: firedrill validate RUNBOOK.md"},
		{name: "unknown validate format", setup: runbook, args: "validate --format xml incident-response.md", code: 2, want: `unknown format "xml": use text or json`},
		{name: "bad --now", setup: withLedger(goodLedger), args: "report --runbook incident-response.md --ledger ledger.jsonl --now 26/11/2026", code: 2,
			want: `--now: "26/11/2026" is not a date: write it as 2026-11-26 or 2026-11-26T09:00:00Z`},
		{name: "unknown report format", setup: withLedger(goodLedger), args: reportArgs + " --format pdf", code: 2,
			want: `unknown format "pdf": use table, markdown, json, html`},
		{name: "unknown --fail-on status", setup: withLedger(goodLedger), args: reportArgs + " --fail-on late", code: 2,
			want: `--fail-on: unknown status "late": use ok, due, overdue, never-tested or unscheduled`},
		{name: "verify with an argument", args: "verify extra", code: 2, want: `unknown command "extra" for "firedrill verify"`},

		// Missing, corrupt or edited ledger: never rewritten. A ledger that does not verify is a
		// finding (exit 1: it may have been tampered with), not bad input.
		{name: "missing ledger to report", setup: runbook, args: "report --runbook incident-response.md --ledger nope.jsonl", code: 2,
			want: "no ledger at nope.jsonl: create an empty one (touch nope.jsonl) or give --ledger"},
		{name: "missing ledger to verify", args: "verify --ledger nope.jsonl", code: 2, want: "no ledger at nope.jsonl: give its path with --ledger"},
		{name: "ledger is a directory", setup: func(t *testing.T, dir string) { runbook(t, dir); mkdir(t, dir, "drills") }, args: "report --runbook incident-response.md --ledger drills", code: 2,
			want: "cannot read ledger drills: is a directory: give the ledger file with --ledger"},
		{name: "ledger is a directory to verify", setup: func(t *testing.T, dir string) { mkdir(t, dir, "drills") }, args: "verify --ledger drills", code: 2,
			want: "cannot read ledger drills: is a directory: give the ledger file with --ledger"},
		{name: "ledger cut mid-record to verify", setup: withLedger(append(bytes.Clone(goodLedger), `{"seq":4,"scen`...)), args: "verify --ledger ledger.jsonl", code: 1,
			want: "ledger does not verify: ledger.jsonl: record 4: not a valid record: unexpected EOF; it was left as it is: restore it from version control (git log -p -- ledger.jsonl)"},
		{name: "ledger cut mid-record to report", setup: withLedger(append(bytes.Clone(goodLedger), `{"seq":4,"scen`...)), args: reportArgs, code: 1,
			want: "ledger.jsonl: record 4: not a valid record: unexpected EOF; run firedrill verify --ledger ledger.jsonl"},
		{name: "ledger not JSON", setup: withLedger([]byte("{not json}\n")), args: reportArgs, code: 1,
			want: "ledger.jsonl: record 1: not a valid record: invalid character 'n' looking for beginning of object key string; run firedrill verify --ledger ledger.jsonl"},
		{name: "ledger record edited", setup: withLedger(bytes.Replace(goodLedger, []byte(`"where":"host:test"`), []byte(`"where": "host:test"`), 1)),
			args: "verify --ledger ledger.jsonl", code: 1,
			want: "ledger does not verify: ledger.jsonl: record 1: altered: the line differs from what firedrill writes for its own content; it was left as it is: restore it from version control (git log -p -- ledger.jsonl)"},
		{name: "ledger record deleted", setup: withLedger(slices.Concat(records[1:]...)), args: "verify --ledger ledger.jsonl", code: 1,
			want: "ledger does not verify: ledger.jsonl: record 1: sequence number 2 at position 1: records were deleted, inserted or reordered; it was left as it is: restore it from version control (git log -p -- ledger.jsonl)"},

		// Docker missing from PATH, or installed with no engine answering.
		{name: "no docker to images", env: []string{noDocker}, args: "images", code: 2,
			want: "docker is not available: no docker command in PATH: install and start it with 'make docker'"},
		{name: "no docker to cluster up", env: []string{noDocker}, args: "cluster up", code: 2,
			want: "docker is not available: no docker command in PATH: install and start it with 'make docker'"},
		{name: "no docker to cluster down", env: []string{noDocker}, args: "cluster down --cluster " + missing, code: 2,
			want: "docker is not available: no docker command in PATH: install and start it with 'make docker'"},
		{name: "no docker to validate --live", setup: runbook, env: []string{noDocker}, args: "validate --live incident-response.md", code: 2,
			want: "docker is not available: no docker command in PATH: install and start it with 'make docker'"},
		{name: "docker stopped to images", env: []string{stoppedDocker}, args: "images", needs: needDockerCLI, code: 2,
			want: "docker is not available: no engine answers at DOCKER_HOST=unix:///nonexistent.sock: start one with 'make docker' and unset DOCKER_HOST"},
		{name: "docker stopped to cluster up", env: []string{stoppedDocker}, args: "cluster up", needs: needDockerCLI, code: 2,
			want: "docker is not available: no engine answers at DOCKER_HOST=unix:///nonexistent.sock: start one with 'make docker' and unset DOCKER_HOST"},
		{name: "docker stopped to validate --live", setup: runbook, env: []string{stoppedDocker}, args: "validate --live incident-response.md", needs: needDockerCLI, code: 2,
			want: "docker is not available: no engine answers at DOCKER_HOST=unix:///nonexistent.sock: start one with 'make docker' and unset DOCKER_HOST"},

		// No such kind cluster (docker answers; kind is only asked which clusters exist).
		{name: "cluster missing to validate --live", setup: runbook, args: "validate --live --cluster " + missing + " incident-response.md", needs: needDocker, code: 2,
			want: fmt.Sprintf(`kind cluster %q does not exist: run 'make cluster-up' (cluster "firedrill") or 'firedrill cluster up --cluster %s' first`, missing, missing)},

		// A full disk under the outputs: the previous file stays whole, no partial or temporary
		// file is left.
		{name: "full disk, report over an earlier one", needs: needRoot, setup: func(t *testing.T, dir string) {
			withLedger(goodLedger)(t, dir)
			mountFull(t, filepath.Join(dir, "out"), files("report.html", "<!DOCTYPE html><p>the previous report</p>\n"))
		}, args: reportArgs + " --format html -o out/report.html", code: 2,
			want: "cannot write out/report.html: no space left on device (out/report.html is unchanged): free space on its filesystem and run again"},
		{name: "full disk, new report", needs: needRoot, setup: func(t *testing.T, dir string) {
			withLedger(goodLedger)(t, dir)
			mountFull(t, filepath.Join(dir, "out"), files())
		}, args: reportArgs + " --format markdown -o out/report.md", code: 2,
			want: "cannot write out/report.md: no space left on device (no partial file left): free space on its filesystem and run again"},
		{name: "full disk, runbook update", needs: needRoot, setup: func(t *testing.T, dir string) {
			mountFull(t, filepath.Join(dir, "full"), withLedger(goodLedger))
		}, args: "report --runbook full/incident-response.md --ledger full/ledger.jsonl --now 2026-11-26 --update-runbook", code: 2,
			stdoutOf: "report --runbook full/incident-response.md --ledger full/ledger.jsonl --now 2026-11-26",
			want:     "--update-runbook: cannot write full/incident-response.md: no space left on device (full/incident-response.md is unchanged): free space on its filesystem and run again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.needs&needDockerCLI != 0 && !dockerCLI() {
				t.Skip("no docker command to point at a stopped engine")
			}
			if c.needs&needDocker != 0 && !dockerRunning() {
				t.Skip("no docker engine to ask kind which clusters exist")
			}
			if c.needs&needRoot != 0 && os.Geteuid() != 0 {
				t.Skip("mounting a tmpfs needs root")
			}
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			before := testfs.Snapshot(t, dir)

			stdout, stderr, code := runCLI(t, dir, c.env, strings.Fields(c.args)...)

			if want := "firedrill: " + c.want + "\n"; code != c.code || stderr != want {
				t.Errorf("exit %d, stderr %q\nwant exit %d, %q", code, stderr, c.code, want)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("the error is not one line: %q", stderr)
			}
			wantOut := ""
			if c.stdoutOf != "" {
				if wantOut, _, _ = runCLI(t, dir, c.env, strings.Fields(c.stdoutOf)...); wantOut == "" {
					t.Fatalf("%s printed nothing", c.stdoutOf)
				}
			}
			if stdout != wantOut {
				t.Errorf("stdout = %q, want %q", stdout, wantOut)
			}
			if after := testfs.Snapshot(t, dir); !maps.Equal(after, before) {
				t.Errorf("files changed:\nbefore %v\nafter  %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
				for name, b := range before {
					if a, ok := after[name]; ok && a != b {
						t.Errorf("%s was rewritten", name)
					}
				}
			}
		})
	}
}

// TestOneLine: errors that span several lines reach the user as one.
func TestOneLine(t *testing.T) {
	t.Parallel()
	err := errors.Join(errors.New("deploy the AUREUS stack: rollout of aureus-frontend timed out"), errors.New("node logs exported to .work/cluster-logs"))
	line, code := outcome(fmt.Errorf("cluster up: %w", err))
	if want := "firedrill: cluster up: deploy the AUREUS stack: rollout of aureus-frontend timed out; node logs exported to .work/cluster-logs"; line != want || code != exitBadInput {
		t.Errorf("outcome = %q, %d\nwant %q, 2", line, code, want)
	}
	if line, code := outcome(&exitError{code: exitFindings, err: errors.New("a\n\nb\n")}); line != "firedrill: a; b" || code != exitFindings {
		t.Errorf("outcome = %q, %d", line, code)
	}
}

var (
	dockerCLI     = sync.OnceValue(func() bool { _, err := exec.LookPath("docker"); return err == nil })
	dockerRunning = sync.OnceValue(func() bool { return exec.Command("docker", "info").Run() == nil })
)

// files returns a setup that writes the files named, each followed by its content.
func files(nameContent ...string) func(*testing.T, string) {
	return func(t *testing.T, dir string) { writeFiles(t, dir, nameContent...) }
}

// writeFiles writes the files named into dir, each name followed by its content.
func writeFiles(t *testing.T, dir string, nameContent ...string) {
	t.Helper()
	for i := 0; i+1 < len(nameContent); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, nameContent[i]), []byte(nameContent[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}
