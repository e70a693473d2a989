package images

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// kind and containerd compare image references as exact strings, so the archive must keep them.
func TestWriteArchiveKeepsExactReferences(t *testing.T) {
	t.Parallel()
	img := func(content string) v1.Image {
		layer, err := layerOf(map[string]file{"x": {mode: 0o644, content: []byte(content)}})
		if err != nil {
			t.Fatal(err)
		}
		i, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	refs := map[string]v1.Image{
		"registry.k8s.io/kube-apiserver:v1.34.4":        img("apiserver"),
		"docker.io/kindest/kindnetd:v20260820-69b56db7": img("kindnetd"),
		"registry.k8s.io/pause:3.10":                    img("pause"),
	}
	dst := filepath.Join(t.TempDir(), "kube-apiserver.tar")
	if err := writeArchive(dst, refs); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	var repositories map[string]map[string]string
	var manifest []struct{ RepoTags []string }
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		data, _ := io.ReadAll(tr)
		switch hdr.Name {
		case "repositories":
			if err := json.Unmarshal(data, &repositories); err != nil {
				t.Fatal(err)
			}
		case "manifest.json":
			if err := json.Unmarshal(data, &manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if names[0] != "repositories" {
		t.Errorf("first entry is %q, want repositories (kind reads tags from the first of repositories and manifest.json)", names[0])
	}
	var fromRepositories, fromManifest []string
	for repo, tags := range repositories {
		for tag := range tags {
			fromRepositories = append(fromRepositories, repo+":"+tag)
		}
	}
	for _, m := range manifest {
		fromManifest = append(fromManifest, m.RepoTags...)
	}
	var want []string
	for ref := range refs {
		want = append(want, ref)
	}
	slices.Sort(want)
	slices.Sort(fromRepositories)
	slices.Sort(fromManifest)
	if !slices.Equal(fromRepositories, want) {
		t.Errorf("repositories names %v, want %v", fromRepositories, want)
	}
	if !slices.Equal(fromManifest, want) {
		t.Errorf("manifest.json names %v, want %v", fromManifest, want)
	}
}
