package secretscan

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const manifests = "../../fixtures/aureus/manifests/base/secrets.yaml"

func TestFromManifests(t *testing.T) {
	t.Parallel()
	secrets, err := FromManifests(manifests)
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) < 3 {
		t.Fatalf("want the postgres, redis and admin secrets, got %d", len(secrets))
	}
	for _, s := range secrets {
		if !strings.HasPrefix(s.Value, "FIREDRILL-SECRET-") {
			t.Errorf("%s: fixture secrets start with FIREDRILL-SECRET-", s.Name)
		}
	}
}

// The scan must find what it is for: secrets planted plain and base64-encoded, in nested files.
func TestScanFindsPlantedSecrets(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	secrets := []Secret{{Name: "s/a", Value: "FIREDRILL-SECRET-aaaa"}, {Name: "s/b", Value: "FIREDRILL-SECRET-bbbb"}}
	files := map[string]string{
		"evidence/logs/frontend.log": "connecting with password FIREDRILL-SECRET-aaaa\n",
		"junit.xml":                  "<failure>" + base64.StdEncoding.EncodeToString([]byte("FIREDRILL-SECRET-bbbb")) + "</failure>",
		"clean.txt":                  "password: [REDACTED]\n",
	}
	for name, body := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hits, read, err := Scan([]string{root, filepath.Join(root, "absent")}, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if read != len(files) {
		t.Errorf("read %d files, want %d", read, len(files))
	}
	got := map[string]string{}
	for _, h := range hits {
		rel, _ := filepath.Rel(root, h.Path)
		got[rel] = h.Secret + " " + h.Encoding
		if strings.Contains(h.String(), "FIREDRILL-SECRET-") {
			t.Errorf("a hit must not print the value: %s", h)
		}
	}
	want := map[string]string{"evidence/logs/frontend.log": "s/a plain", "junit.xml": "s/b base64"}
	if len(got) != len(want) || got["evidence/logs/frontend.log"] != want["evidence/logs/frontend.log"] || got["junit.xml"] != want["junit.xml"] {
		t.Fatalf("hits %v, want %v", got, want)
	}
}

// TestDrillOutputsHoldNoSecret scans what the drills wrote; `make scan-secrets` runs it after the
// drills with FIREDRILL_SCAN naming the directories and files (colon-separated).
func TestDrillOutputsHoldNoSecret(t *testing.T) {
	roots := os.Getenv("FIREDRILL_SCAN")
	if roots == "" {
		t.Skip("FIREDRILL_SCAN is not set: make scan-secrets runs this after the drills")
	}
	secrets, err := FromManifests(manifests)
	if err != nil {
		t.Fatal(err)
	}
	hits, files, err := Scan(strings.Split(roots, ":"), secrets)
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("nothing to scan under %s: the drills wrote no files", roots)
	}
	for _, h := range hits {
		t.Errorf("secret leaked: %s", h)
	}
	t.Logf("scanned %d files under %s: %d secrets, %d hits", files, roots, len(secrets), len(hits))
}
