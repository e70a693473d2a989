package redact_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/firedrill-dev/firedrill/harness/internal/redact"
)

func TestBytes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "password=hunter2", "password=hunter2"},
		{"empty secret ignored", []string{""}, "abc", "abc"},
		{"raw", []string{"hunter2"}, "password=hunter2 again hunter2", "password=[REDACTED] again [REDACTED]"},
		{"at both ends", []string{"s3cr3t"}, "s3cr3ts3cr3t", "[REDACTED][REDACTED]"},
		{"base64 of a Secret's data", []string{"hunter2"}, "password: aHVudGVyMg==", "password: [REDACTED]"},
		{"json escaped", []string{`pa"ss\word`}, `{"p":"pa\"ss\\word"}`, `{"p":"[REDACTED]"}`},
		{"longest wins at the same start", []string{"abc", "abcdef"}, "xabcdefx", "x[REDACTED]x"},
		{"leftmost wins", []string{"bcd", "abc"}, "abcd", "[REDACTED]d"},
		{"partial is kept", []string{"hunter2"}, "hunter", "hunter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := redact.New(c.secrets...)
			if got := string(r.Bytes([]byte(c.in))); got != c.want {
				t.Errorf("Bytes(%q) = %q, want %q", c.in, got, c.want)
			}
			for size := 1; size <= len(c.in); size++ {
				if got := stream(t, r, c.in, size); got != c.want {
					t.Errorf("streamed in chunks of %d: %q, want %q", size, got, c.want)
				}
			}
		})
	}
}

func TestNilRedactor(t *testing.T) {
	t.Parallel()
	var r *redact.Redactor
	if got := r.String("hunter2"); got != "hunter2" {
		t.Errorf("nil redactor changed input: %q", got)
	}
}

// TestStreamMatchesReplacer compares streamed redaction, cut at random places, with
// strings.Replacer (leftmost, earlier argument first) over a small alphabet where secrets overlap
// and repeat often.
func TestStreamMatchesReplacer(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab"[rng.IntN(2)]
		}
		return string(b)
	}
	for range 2000 {
		secrets := []string{word(1 + rng.IntN(4)), word(1 + rng.IntN(6))}
		in := word(rng.IntN(40))
		r := redact.New(secrets...)

		patterns := []string{secrets[0], secrets[1]}
		for _, s := range secrets { // what New adds; base64 of a/b text never contains a or b alone
			patterns = append(patterns, b64(s))
		}
		sort.SliceStable(patterns, func(i, j int) bool { return len(patterns[i]) > len(patterns[j]) })
		var args []string
		for _, p := range patterns {
			args = append(args, p, redact.Mark)
		}
		want := strings.NewReplacer(args...).Replace(in)

		size := 1 + rng.IntN(7)
		if got := stream(t, r, in, size); got != want {
			t.Fatalf("secrets %q, input %q, chunks of %d: got %q, want %q", secrets, in, size, got, want)
		}
	}
}

func TestWriterError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	w := redact.New("hunter2").Writer(failWriter{boom})
	if _, err := w.Write(bytes.Repeat([]byte("x"), 100)); !errors.Is(err, boom) {
		t.Errorf("Write error = %v, want %v", err, boom)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close error = %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func stream(t *testing.T, r *redact.Redactor, in string, size int) string {
	t.Helper()
	var out bytes.Buffer
	w := r.Writer(&out)
	for s := in; len(s) > 0; {
		n := min(size, len(s))
		if _, err := w.Write([]byte(s[:n])); err != nil {
			t.Fatal(err)
		}
		s = s[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
