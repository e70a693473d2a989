package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ManifestVersion is the version of the manifest format this package writes.
const ManifestVersion = 1

// Manifest lists every file of a sealed pack. Digest is what a ledger chains: it covers every
// other field, so a file's hash cannot change without the manifest's digest changing too.
type Manifest struct {
	Version  int       `json:"version"`
	Incident string    `json:"incident"`
	Sealed   time.Time `json:"sealed"`
	// Incomplete is the reason given to MarkIncomplete; empty for a finished pack.
	Incomplete string `json:"incomplete,omitempty"`
	Files      []File `json:"files"` // sorted by path; manifest.json itself is not listed
	// Digest is "sha256:<hex>" over the compact JSON encoding of the manifest with Digest empty.
	Digest string `json:"digest"`
}

// File is one file of a pack.
type File struct {
	Path   string `json:"path"` // relative to the pack directory, '/'-separated
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Finalize seals the pack: it writes manifest.json with the size and SHA-256 of every file. It
// waits for writes in progress; writes after it fail with ErrSealed.
func (p *Pack) Finalize() (Manifest, error) { return p.seal("") }

// MarkIncomplete seals a pack whose drill did not finish: it writes the INCOMPLETE marker with
// the reason, then the manifest, which records the reason too. Check reports such a pack as
// incomplete; Verify still protects what it holds.
func (p *Pack) MarkIncomplete(reason string) (Manifest, error) {
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = "no reason given"
	}
	return p.seal(reason)
}

func (p *Pack) seal(incomplete string) (Manifest, error) {
	p.writes.Lock()
	defer p.writes.Unlock()
	if p.sealed {
		return Manifest{}, fmt.Errorf("seal evidence pack %s: %w", p.dir, ErrSealed)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if incomplete != "" {
		incomplete = oneLine(p.redact.String(incomplete))
		marker := fmt.Sprintf("INCOMPLETE: the drill for incident %s stopped before it finished.\n"+
			"Reason: %s\nMarked: %s\n\nThis pack holds what was captured until then. It does not show that the runbook works.\n",
			p.id, incomplete, now.Format(time.RFC3339))
		if err := p.writeFile(IncompleteFile, []byte(marker)); err != nil {
			return Manifest{}, p.fail("seal", fmt.Errorf("seal evidence pack %s: %w", p.dir, err))
		}
	}
	files, err := hashTree(p.dir)
	if err != nil {
		return Manifest{}, fmt.Errorf("seal evidence pack %s: %w", p.dir, err)
	}
	m := Manifest{Version: ManifestVersion, Incident: p.id, Sealed: now, Incomplete: incomplete, Files: files}
	if m.Digest, err = m.digest(); err != nil {
		return Manifest{}, fmt.Errorf("seal evidence pack %s: %w", p.dir, err)
	}
	// The manifest holds names the pack chose, hashes it computed and an already redacted reason:
	// it skips the redactor, which could otherwise rewrite a hash that happens to contain a secret.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return Manifest{}, fmt.Errorf("seal evidence pack %s: %w", p.dir, err)
	}
	if err := atomicWrite(p.abs(ManifestFile), &b, nil); err != nil {
		// The pack stays unsealed, without a manifest: seal it again once there is space.
		return Manifest{}, p.fail("seal", fmt.Errorf("seal evidence pack %s: write %s: %w", p.dir, ManifestFile, err))
	}
	p.sealed = true
	p.log.Info("evidence pack sealed", "incident", p.id, "dir", p.dir, "files", len(files),
		"digest", m.Digest, "incomplete", incomplete != "")
	return m, nil
}

func (m Manifest) digest() (string, error) {
	m.Digest = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// ReadManifest reads a pack's manifest.json. A pack that was never sealed has none; the error
// then matches fs.ErrNotExist.
func ReadManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("read evidence manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("read evidence manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// ProblemKind says how a file differs from the manifest.
type ProblemKind string

// Kinds of problem Verify finds.
const (
	Altered ProblemKind = "altered" // content differs from the manifest; for manifest.json, from its digest
	Missing ProblemKind = "missing" // listed in the manifest, not on disk
	Added   ProblemKind = "added"   // on disk, not in the manifest
)

// Problem is one difference between a pack and its manifest.
type Problem struct {
	Path   string // relative to the pack directory
	Kind   ProblemKind
	Detail string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Path, p.Kind, p.Detail) }

// Verify re-hashes every file of the pack in dir against its manifest and returns each file that
// was altered, removed or added since the pack was sealed, sorted by path; none means intact. It
// checks the manifest against its own digest, not against a ledger: compare Manifest.Digest
// with the ledger's record for that. The error is for a pack that cannot be verified at all: no
// manifest, an unreadable one, or a directory that cannot be read.
func Verify(dir string) ([]Problem, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("verify evidence pack: %w", err)
	}
	var problems []Problem
	if d, err := m.digest(); err != nil || d != m.Digest {
		problems = append(problems, Problem{ManifestFile, Altered,
			fmt.Sprintf("its content does not match its digest %s: the manifest was edited", m.Digest)})
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) || path.Clean(f.Path) != f.Path || f.Path == ManifestFile {
			problems = append(problems, Problem{ManifestFile, Altered, fmt.Sprintf("it lists %q, which is not a file of the pack", f.Path)})
			continue
		}
		got, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, Problem{f.Path, Missing, "listed in the manifest, not on disk"})
		case err != nil:
			problems = append(problems, Problem{f.Path, Altered, err.Error()})
		case got.Size != f.Size:
			problems = append(problems, Problem{f.Path, Altered, fmt.Sprintf("size %d, manifest says %d", got.Size, f.Size)})
		case got.SHA256 != f.SHA256:
			problems = append(problems, Problem{f.Path, Altered, fmt.Sprintf("sha256 %s, manifest says %s", got.SHA256, f.SHA256)})
		}
	}
	err = walkFiles(dir, func(rel string, d fs.DirEntry) error {
		if !listed[rel] {
			problems = append(problems, Problem{rel, Added, "on disk, not in the manifest"})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify evidence pack %s: %w", dir, err)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	return problems, nil
}

// hashTree returns every file under dir except the manifest, sorted by path.
func hashTree(dir string) ([]File, error) {
	var files []File
	err := walkFiles(dir, func(rel string, d fs.DirEntry) error {
		f, err := hashFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		f.Path = rel
		files = append(files, f)
		return nil
	})
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, err
}

// walkFiles calls fn for everything under dir that is not a directory, manifest.json excepted,
// with its '/'-separated path relative to dir.
func walkFiles(dir string, fn func(rel string, d fs.DirEntry) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel == ManifestFile {
			return nil
		}
		return fn(rel, d)
	})
}

// hashFile returns the size and SHA-256 of a regular file; a symbolic link is not followed.
func hashFile(name string) (File, error) {
	if fi, err := os.Lstat(name); err != nil {
		return File{}, err
	} else if !fi.Mode().IsRegular() {
		return File{}, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	f, err := os.Open(name)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
