// Package redact replaces secret values in captured output with "[REDACTED]".
//
// A Redactor matches each secret as written and in the two encodings in which command output
// usually carries it: standard base64 (the data of a Kubernetes Secret) and the body of a JSON
// string (quotes, backslashes and control characters escaped). Matching is leftmost, longest
// first, over the raw bytes; a stream is redacted as if it were one buffer, so a secret split
// across two writes is still found.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"sort"
)

// Mark replaces every secret.
const Mark = "[REDACTED]"

// Redactor redacts a fixed set of secrets. The zero value and nil redact nothing. A Redactor is
// safe for concurrent use.
type Redactor struct {
	patterns [][]byte // longest first
	longest  int
}

// New returns a Redactor for the secrets. Empty strings are ignored.
func New(secrets ...string) *Redactor {
	seen := map[string]bool{}
	r := &Redactor{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, p := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), jsonBody(s)} {
			if seen[p] {
				continue
			}
			seen[p] = true
			r.patterns = append(r.patterns, []byte(p))
			r.longest = max(r.longest, len(p))
		}
	}
	sort.SliceStable(r.patterns, func(i, j int) bool { return len(r.patterns[i]) > len(r.patterns[j]) })
	return r
}

// jsonBody is s as it appears between the quotes of a JSON string written without HTML escaping.
func jsonBody(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return string(out[1 : len(out)-1])
}

// Bytes returns b with every secret replaced. It returns b itself when there is nothing to replace.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(r.patterns) == 0 {
		return b
	}
	var out bytes.Buffer
	w := r.Writer(&out)
	_, _ = w.Write(b) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	return out.Bytes()
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string { return string(r.Bytes([]byte(s))) }

// Writer returns a writer that redacts what it is given and writes the result to w. It holds back
// up to one secret's length of bytes, in case a secret continues in the next write; Close writes
// them out. Close does not close w.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	if r == nil || len(r.patterns) == 0 {
		return nopCloser{w}
	}
	return &writer{r: r, w: w}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type writer struct {
	r   *Redactor
	w   io.Writer
	buf []byte // bytes not yet decided
	out []byte // redacted bytes of the current drain, reused
	err error
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.buf = append(w.buf, p...)
	if err := w.drain(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *writer) Close() error {
	if w.err != nil {
		return w.err
	}
	return w.drain(true)
}

// drain writes out every byte that no secret can still cover. Unless final, the last longest-1
// bytes wait for the next write: a match starting before them lies wholly inside the buffer, so
// the leftmost match found there is final.
func (w *writer) drain(final bool) error {
	limit := len(w.buf)
	if !final {
		limit -= w.r.longest - 1
	}
	if limit <= 0 {
		return nil
	}
	pats := w.r.patterns
	next := make([]int, len(pats)) // where each pattern next occurs at or after pos, or -1
	for i, p := range pats {
		next[i] = bytes.Index(w.buf, p)
	}
	w.out = w.out[:0]
	pos := 0
	for {
		best := -1 // leftmost; patterns are longest first, so the first at a start is the longest
		for i, at := range next {
			if at >= 0 && (best < 0 || at < next[best]) {
				best = i
			}
		}
		if best < 0 || next[best] >= limit {
			break
		}
		w.out = append(append(w.out, w.buf[pos:next[best]]...), Mark...)
		pos = next[best] + len(pats[best])
		for i, at := range next {
			if at >= 0 && at < pos {
				if j := bytes.Index(w.buf[pos:], pats[i]); j >= 0 {
					next[i] = pos + j
				} else {
					next[i] = -1
				}
			}
		}
	}
	if pos < limit {
		w.out = append(w.out, w.buf[pos:limit]...)
		pos = limit
	}
	w.buf = append(w.buf[:0], w.buf[pos:]...)
	if _, err := w.w.Write(w.out); err != nil {
		w.err = err
		return err
	}
	return nil
}
