package ledger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func sample(i int) Record {
	start := time.Date(2026, 11, 1+i, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	return Record{
		Scenario: []string{"frontend", "database", "policy"}[i%3], Severity: "P1", Kind: "fire-drill",
		StartedAt: start, FinishedAt: start.Add(7*time.Minute + 30*time.Second), Result: Passed,
		Phases:         []Phase{{Name: "detect", Duration: Duration(40 * time.Second)}, {Name: "mitigate", Duration: Duration(5 * time.Minute)}},
		ResponseTarget: Duration(15 * time.Minute), TargetMet: true,
		EvidenceDigest: "sha256:aa", RunbookDigest: "sha256:bb", HarnessVersion: "v0.1.0", Where: "host:test",
	}
}

// ledgerWith writes n records and returns the path and the file bytes.
func ledgerWith(t *testing.T, n int) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drills", "ledger.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := l.Append(context.Background(), sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// lines splits a ledger into its lines, each with its newline.
func lines(b []byte) [][]byte {
	ls := bytes.SplitAfter(b, []byte("\n"))
	return ls[:len(ls)-1] // the empty remainder after the last newline
}

func TestAppendAndRead(t *testing.T) {
	t.Parallel()
	path, data := ledgerWith(t, 3)
	records, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 || bytes.Count(data, []byte("\n")) != 3 {
		t.Fatalf("got %d records", len(records))
	}
	for i, r := range records {
		if r.Seq != i+1 || r.StartedAt.Location() != time.UTC || r.StartedAt.Nanosecond() != 123000000 {
			t.Errorf("record %d = %+v", i+1, r)
		}
		if i > 0 && r.Prev != records[i-1].Hash {
			t.Errorf("record %d does not chain", i+1)
		}
	}
	if records[0].Prev != "" || records[1].Phases[1].Duration != Duration(5*time.Minute) {
		t.Errorf("record 1 = %+v", records[0])
	}
	sum, err := VerifyFile(path)
	if err != nil || sum.Records != 3 || sum.Head != records[2].Hash {
		t.Fatalf("verify = %+v, %v", sum, err)
	}
}

func TestEmptyLedger(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := VerifyFile(path)
	if err != nil || sum.Records != 0 || sum.Head != "" {
		t.Fatalf("verify = %+v, %v", sum, err)
	}
	if _, err := VerifyFile(filepath.Join(t.TempDir(), "missing.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing ledger: %v", err)
	}
}

// TestEveryByteEdit flips each byte of each record in turn; verify must name that record.
func TestEveryByteEdit(t *testing.T) {
	t.Parallel()
	path, data := ledgerWith(t, 3)
	ls := lines(data)
	offset := 0
	for rec, line := range ls {
		for i := 0; i < len(line)-1; i++ { // the newline itself is covered by TestTampering
			edited := bytes.Clone(data)
			edited[offset+i] ^= 0x01
			_, err := parse(path, edited)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Record != rec+1 {
				t.Fatalf("flipping byte %d (%q) of record %d: error %v", i, line[i], rec+1, err)
			}
		}
		offset += len(line)
	}
}

func TestTampering(t *testing.T) {
	t.Parallel()
	path, data := ledgerWith(t, 4)
	ls := lines(data)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name       string
		data       []byte
		wantRecord int
		wantReason string
	}{
		{"delete first", join(ls[1], ls[2], ls[3]), 1, "sequence number 2 at position 1"},
		{"delete middle", join(ls[0], ls[2], ls[3]), 2, "sequence number 3 at position 2"},
		{"insert a copy", join(ls[0], ls[1], ls[1], ls[2], ls[3]), 3, "sequence number 2 at position 3"},
		{"swap two", join(ls[0], ls[2], ls[1], ls[3]), 2, "sequence number 3 at position 2"},
		{"move last to front", join(ls[3], ls[0], ls[1], ls[2]), 1, "sequence number 4 at position 1"},
		{"blank line", join(ls[0], []byte("\n"), ls[1], ls[2], ls[3]), 2, "not a valid record"},
		{"reformatted", join(ls[0], bytes.Replace(ls[1], []byte(`,"scenario"`), []byte(`, "scenario"`), 1), ls[2], ls[3]), 2, "altered: the line differs"},
		{"unknown field", join(ls[0], bytes.Replace(ls[1], []byte(`{"seq"`), []byte(`{"x":1,"seq"`), 1), ls[2], ls[3]), 2, "unknown field"},
		{"truncated last line", data[:len(data)-10], 4, "not a valid record"},
		{"missing final newline", data[:len(data)-1], 4, "incomplete"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(path, tc.data)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Record != tc.wantRecord || !strings.Contains(ce.Reason, tc.wantReason) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error = %v, want record %d: %s", err, tc.wantRecord, tc.wantReason)
			}
		})
	}
}

// TestForgedRecord: a record whose fields were edited and whose hash was recomputed still
// breaks the next record's link.
func TestForgedRecord(t *testing.T) {
	t.Parallel()
	path, data := ledgerWith(t, 3)
	records, _ := parse(path, data)
	forged := records[1]
	forged.Result = Failed
	forged.Hash, _ = hashOf(forged)
	var buf bytes.Buffer
	for _, r := range []Record{records[0], forged, records[2]} {
		b, _ := jsonLine(r)
		buf.Write(b)
	}
	_, err := parse(path, buf.Bytes())
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Record != 3 || !strings.Contains(ce.Reason, "does not follow record 2") {
		t.Fatalf("error = %v", err)
	}
}

func TestPinnedHead(t *testing.T) {
	t.Parallel()
	path, data := ledgerWith(t, 3)
	records, _ := parse(path, data)
	head := records[2].Hash
	if _, err := VerifyFile(path, WithHead(head)); err != nil {
		t.Fatal(err)
	}
	ls := lines(data)
	if err := os.WriteFile(path, bytes.Join(ls[:2], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyFile(path); err != nil {
		t.Fatalf("a shorter chain is still a chain: %v", err)
	}
	_, err := VerifyFile(path, WithHead(head))
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Record != 3 || !strings.Contains(ce.Reason, "removed from its end") {
		t.Fatalf("error = %v", err)
	}
}

// TestAppendRefusesCorrupt: a corrupt ledger is left byte-for-byte as it was.
func TestAppendRefusesCorrupt(t *testing.T) {
	t.Parallel()
	path, data := ledgerWith(t, 2)
	corrupt := append(bytes.Clone(data), []byte(`{"seq":3,"scen`)...) // an interrupted write
	if err := os.WriteFile(path, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), sample(3)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append = %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, corrupt) {
		t.Fatal("append changed a corrupt ledger")
	}
}

// holdLockEnv makes the test binary a helper process that holds the ledger's lock: another drill
// in the middle of appending, as far as Append can tell.
const holdLockEnv = "FIREDRILL_TEST_HOLD_LEDGER_LOCK"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdLockEnv); path != "" {
		os.Exit(holdLock(path))
	}
	os.Exit(m.Run())
}

// holdLock takes the ledger's flock, says "locked" on stdout and keeps the lock until stdin closes.
func holdLock(path string) int {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// lockedBy starts a process that holds path's lock; release ends it, which frees the lock.
func lockedBy(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holdLockEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	release = sync.OnceFunc(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("lock holder: %v", err)
		}
	})
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("lock holder said %q, %v", line, err)
	}
	return release
}

// TestLockedLedger: while another process holds the ledger's lock, Append waits a bounded time, or
// until its context ends, then fails with one line saying what to do and leaves the ledger as it
// was; once the lock is released it appends.
func TestLockedLedger(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		wait    time.Duration
		timeout time.Duration // of the context; 0 for none
		release time.Duration // release the lock after this long; 0 for never
		want    string        // the error, with %s for the ledger's path; "" for success
		is      error         // what the error must also match, besides ErrLocked
	}{
		{name: "lock wait runs out", wait: 300 * time.Millisecond,
			want: "ledger %[1]s is locked by another drill (waited 300ms): wait for it to finish and retry, or stop the process holding the lock (fuser -v %[1]s)"},
		{name: "context ends the wait", wait: time.Hour, timeout: 300 * time.Millisecond,
			want: "ledger %[1]s is locked by another drill (stopped waiting: context deadline exceeded): wait for it to finish and retry, or stop the process holding the lock (fuser -v %[1]s)",
			is:   context.DeadlineExceeded},
		{name: "no wait", wait: 0,
			want: "ledger %[1]s is locked by another drill (waited 0s): wait for it to finish and retry, or stop the process holding the lock (fuser -v %[1]s)"},
		{name: "released while waiting", wait: time.Hour, release: 300 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path, data := ledgerWith(t, 1)
			release := lockedBy(t, path)
			if c.release > 0 {
				time.AfterFunc(c.release, release)
			}
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			l, err := Open(path, WithLockWait(c.wait))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := l.Append(ctx, sample(1))
			after, _ := os.ReadFile(path)
			if c.want == "" {
				if err != nil || rec.Seq != 2 {
					t.Fatalf("append after the lock was released = %+v, %v", rec, err)
				}
				if sum, err := VerifyFile(path); err != nil || sum.Records != 2 {
					t.Fatalf("verify = %+v, %v", sum, err)
				}
				return
			}
			want := fmt.Sprintf(c.want, path)
			if err == nil || err.Error() != want {
				t.Fatalf("append while locked = %v\nwant %s", err, want)
			}
			if !errors.Is(err, ErrLocked) || c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not match ErrLocked and %v", err, c.is)
			}
			if !bytes.Equal(after, data) {
				t.Fatalf("a locked-out append changed the ledger:\n%s", after)
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
				t.Errorf("files beside the ledger: %v", entries)
			}
			release()
			if _, err := l.Append(context.Background(), sample(1)); err != nil {
				t.Fatalf("append after the lock was released = %v", err)
			}
		})
	}
}

// TestConcurrentAppends: writers racing each other take turns and append whole records; the chain
// stays valid.
func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	const writers, each = 4, 5
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < each; i++ {
				if _, err := l.Append(context.Background(), sample(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sum, err := VerifyFile(path)
	if err != nil || sum.Records != writers*each {
		t.Fatalf("verify = %+v, %v", sum, err)
	}
}

func TestInvalidRecord(t *testing.T) {
	t.Parallel()
	l, err := Open(filepath.Join(t.TempDir(), "l.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	bad := sample(0)
	bad.Result = "green"
	bad.Scenario = ""
	_, err = l.Append(context.Background(), bad)
	if !errors.Is(err, ErrInvalid) || err.Error() != `invalid record: scenario is empty; result "green" is not passed, failed or aborted` {
		t.Fatalf("error = %v", err)
	}
	early := sample(0)
	early.FinishedAt = early.StartedAt.Add(-time.Second)
	if _, err := l.Append(context.Background(), early); !errors.Is(err, ErrInvalid) {
		t.Fatalf("error = %v", err)
	}
}

func TestWhere(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"}
	if got := Where(func(k string) string { return env[k] }); got != "https://github.com/o/r/actions/runs/42" {
		t.Errorf("Where = %q", got)
	}
	if got := Where(func(string) string { return "" }); !strings.HasPrefix(got, "host:") {
		t.Errorf("Where = %q", got)
	}
}
