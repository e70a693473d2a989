// Package secretscan looks for the AUREUS stack's secret values in files the drills wrote:
// evidence packs, logs, reports, JUnit, the ledger. Redaction happens where output is captured;
// this scan is the independent proof that it did.
package secretscan

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Hit is one secret found in one file.
type Hit struct {
	Path     string
	Encoding string // "plain" or "base64"
	Secret   string // which secret, by the name of its Secret and key; never the value
}

func (h Hit) String() string { return fmt.Sprintf("%s: %s (%s)", h.Path, h.Secret, h.Encoding) }

// Secret is one value to look for.
type Secret struct {
	Name  string // "aureus-redis/password"
	Value string
}

// FromManifests reads every stringData and data value of the Secrets in a multi-document YAML file.
func FromManifests(path string) ([]Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Secret
	for _, doc := range strings.Split(string(data), "\n---") {
		var obj struct {
			Kind       string                `json:"kind"`
			Metadata   struct{ Name string } `json:"metadata"`
			Data       map[string][]byte     `json:"data"`
			StringData map[string]string     `json:"stringData"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj.Kind != "Secret" {
			continue
		}
		for k, v := range obj.StringData {
			out = append(out, Secret{Name: obj.Metadata.Name + "/" + k, Value: v})
		}
		for k, v := range obj.Data {
			out = append(out, Secret{Name: obj.Metadata.Name + "/" + k, Value: string(v)})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no Secret values", path)
	}
	return out, nil
}

// Scan reads every regular file under roots (a root may be a file) and reports each secret found
// as written or base64-encoded, and how many files it read. A root that does not exist is skipped.
func Scan(roots []string, secrets []Secret) (hits []Hit, files int, err error) {
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, s := range secrets {
				if s.Value == "" {
					continue
				}
				if bytes.Contains(data, []byte(s.Value)) {
					hits = append(hits, Hit{Path: path, Encoding: "plain", Secret: s.Name})
				}
				if bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString([]byte(s.Value)))) {
					hits = append(hits, Hit{Path: path, Encoding: "base64", Secret: s.Name})
				}
			}
			return nil
		})
		if err != nil {
			return hits, files, err
		}
	}
	return hits, files, nil
}
