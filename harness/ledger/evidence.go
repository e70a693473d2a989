package ledger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/firedrill-dev/firedrill/harness/evidence"
)

// PackState is what VerifyEvidence found for one record's evidence pack.
type PackState string

// States of a referenced pack. Intact and Absent leave the ledger trustworthy; Altered and Mismatch
// do not.
const (
	Intact   PackState = "intact"   // the pack verifies and its manifest digest is the record's
	Absent   PackState = "absent"   // the pack is not on this machine (e.g. an artifact of another CI run)
	Altered  PackState = "altered"  // files were changed, added or removed since the pack was sealed
	Mismatch PackState = "mismatch" // the pack verifies but is not the one the record names
)

// PackCheck is the check of one record's evidence pack.
type PackCheck struct {
	Record int
	Path   string
	State  PackState
	Detail string
}

func (c PackCheck) String() string {
	s := fmt.Sprintf("record %d: evidence pack %s: %s", c.Record, c.Path, c.State)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// VerifyEvidence checks the evidence pack of every record that names one (EvidencePath): it
// re-hashes the pack against its manifest and compares the manifest's digest with the record's
// EvidenceDigest. Relative paths are resolved against baseDir.
func VerifyEvidence(records []Record, baseDir string) []PackCheck {
	var out []PackCheck
	for _, r := range records {
		if r.EvidencePath == "" {
			continue
		}
		dir := r.EvidencePath
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(baseDir, dir)
		}
		c := PackCheck{Record: r.Seq, Path: r.EvidencePath}
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			c.State, c.Detail = Absent, "not on this machine"
			out = append(out, c)
			continue
		}
		problems, err := evidence.Verify(dir)
		switch {
		case err != nil:
			c.State, c.Detail = Altered, err.Error()
		case len(problems) > 0:
			details := make([]string, len(problems))
			for i, p := range problems {
				details[i] = p.String()
			}
			c.State, c.Detail = Altered, strings.Join(details, "; ")
		default:
			m, err := evidence.ReadManifest(dir)
			switch {
			case err != nil:
				c.State, c.Detail = Altered, err.Error()
			case m.Digest != r.EvidenceDigest:
				c.State, c.Detail = Mismatch, fmt.Sprintf("its manifest digest is %s, the record says %s", m.Digest, r.EvidenceDigest)
			default:
				c.State = Intact
			}
		}
		out = append(out, c)
	}
	return out
}
