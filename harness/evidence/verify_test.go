package evidence_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/firedrill-dev/firedrill/harness/evidence"
)

const frontendBefore = "logs/frontend-20261126T152900Z-before.log"

func TestVerify(t *testing.T) {
	t.Parallel()
	type found struct {
		path string
		kind evidence.ProblemKind
	}
	// editManifest rewrites manifest.json after edit, keeping the digest it had.
	editManifest := func(edit func(*evidence.Manifest)) func(string) error {
		return func(dir string) error {
			m, err := evidence.ReadManifest(dir)
			if err != nil {
				return err
			}
			edit(&m)
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
		}
	}
	cases := []struct {
		name   string
		tamper func(dir string) error
		want   []found
	}{
		{"intact", func(string) error { return nil }, nil},
		{"one byte edited", func(dir string) error {
			name := filepath.Join(dir, frontendBefore)
			b, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			b[0] ^= 0x20
			return os.WriteFile(name, b, 0o644)
		}, []found{{frontendBefore, evidence.Altered}}},
		{"appended to", func(dir string) error {
			f, err := os.OpenFile(filepath.Join(dir, "changes.json"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.WriteString(" ")
			return errors.Join(err, f.Close())
		}, []found{{"changes.json", evidence.Altered}}},
		{"file deleted", func(dir string) error { return os.Remove(filepath.Join(dir, "approvals.json")) },
			[]found{{"approvals.json", evidence.Missing}}},
		{"file added", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "logs", "frontend-20261126T160000Z-after.log"), []byte("forged"), 0o644)
		}, []found{{"logs/frontend-20261126T160000Z-after.log", evidence.Added}}},
		{"directory added", func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "extra"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "extra", "note.txt"), nil, 0o644)
		}, []found{{"extra/note.txt", evidence.Added}}},
		{"file replaced by a symlink to the same content", func(dir string) error {
			name := filepath.Join(dir, "timeline.md")
			if err := os.Rename(name, filepath.Join(dir, "..", "timeline.md")); err != nil {
				return err
			}
			return os.Symlink(filepath.Join("..", "timeline.md"), name)
		}, []found{{"timeline.md", evidence.Altered}}},
		{"manifest hash edited to match a forged file", func(dir string) error {
			name := filepath.Join(dir, frontendBefore)
			if err := os.WriteFile(name, []byte("forged\n"), 0o644); err != nil {
				return err
			}
			return editManifest(func(m *evidence.Manifest) {
				i := slices.IndexFunc(m.Files, func(f evidence.File) bool { return f.Path == frontendBefore })
				m.Files[i].Size, m.Files[i].SHA256 = 7, sha256Hex("forged\n")
			})(dir)
		}, []found{{"manifest.json", evidence.Altered}}},
		{"file dropped from the manifest", editManifest(func(m *evidence.Manifest) {
			m.Files = slices.DeleteFunc(m.Files, func(f evidence.File) bool { return f.Path == "rca.md" })
		}), []found{{"manifest.json", evidence.Altered}, {"rca.md", evidence.Added}}},
		{"manifest points outside the pack", editManifest(func(m *evidence.Manifest) {
			m.Files = append(m.Files, evidence.File{Path: "../../etc/passwd"})
		}), []found{{"manifest.json", evidence.Altered}, {"manifest.json", evidence.Altered}}},
		{"manifest reformatted", func(dir string) error {
			b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				return err
			}
			b, err = json.Marshal(v) // same content, other whitespace and key order
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := build(t)
			if _, err := p.Finalize(); err != nil {
				t.Fatal(err)
			}
			if err := c.tamper(p.Dir()); err != nil {
				t.Fatal(err)
			}
			problems, err := evidence.Verify(p.Dir())
			if err != nil {
				t.Fatal(err)
			}
			var got []found
			for _, pr := range problems {
				got = append(got, found{pr.Path, pr.Kind})
				if pr.Detail == "" {
					t.Errorf("%s: no detail", pr.Path)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Verify found %v, want %v", problems, c.want)
			}
		})
	}
}

func TestVerifyUnsealed(t *testing.T) {
	t.Parallel()
	p := build(t)
	if _, err := evidence.Verify(p.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Verify of an unsealed pack: error = %v, want one matching fs.ErrNotExist", err)
	}
}

// TestDigestChains shows what a ledger relies on: a manifest edited and re-digested consistently
// passes Verify, but its digest is no longer the one the ledger recorded.
func TestDigestChains(t *testing.T) {
	t.Parallel()
	p := build(t)
	sealed, err := p.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(p.Dir(), frontendBefore)
	if err := os.WriteFile(name, []byte("forged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := sealed
	m.Files = slices.Clone(m.Files)
	i := slices.IndexFunc(m.Files, func(f evidence.File) bool { return f.Path == frontendBefore })
	m.Files[i].Size, m.Files[i].SHA256 = 7, sha256Hex("forged\n")
	m.Digest = digestOf(t, m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Dir(), "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if problems, err := evidence.Verify(p.Dir()); err != nil || len(problems) != 0 {
		t.Fatalf("a consistently forged pack: Verify = %v, %v", problems, err)
	}
	if m.Digest == sealed.Digest {
		t.Errorf("forging a file left the manifest digest %s unchanged", m.Digest)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
