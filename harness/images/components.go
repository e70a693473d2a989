package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// file is one entry of an image layer.
type file struct {
	mode    int64
	content []byte
	link    string // a symlink target instead of content
}

// componentImages builds each required image under its exact upstream tag, grouped by the server
// archive kind loads it from: every image that is not a control-plane binary rides in kube-apiserver.tar.
func (b *builder) componentImages(ctx context.Context, work, base string, bins binaries, required []string) (map[string]map[string]v1.Image, error) {
	debianTar := filepath.Join(work, "debian.tar")
	if _, err := docker(ctx, nil, "save", "-o", debianTar, base); err != nil {
		return nil, err
	}
	debian, err := tarball.ImageFromPath(debianTar, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", base, err)
	}
	static, err := staticBase()
	if err != nil {
		return nil, err
	}

	archives := map[string]map[string]v1.Image{}
	for _, ref := range required {
		tag, err := name.NewTag(ref, name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		component := path.Base(tag.RepositoryStr())
		img, err := b.componentImage(ctx, component, tag.TagStr(), debian, static, bins)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		archive := "kube-apiserver"
		switch component {
		case "kube-controller-manager", "kube-scheduler", "kube-proxy":
			archive = component
		}
		if archives[archive] == nil {
			archives[archive] = map[string]v1.Image{}
		}
		archives[archive][ref] = img
	}
	for _, a := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		if archives[a] == nil {
			return nil, fmt.Errorf("kubeadm lists no %s image", a)
		}
	}
	return archives, nil
}

// componentImage assembles one image: a static binary on a minimal layer, or, for what needs a
// userland (iptables, a shell), the binary on the shared Debian root filesystem.
func (b *builder) componentImage(ctx context.Context, component, version string, debian, static v1.Image, bins binaries) (v1.Image, error) {
	bin := func(p string) (file, error) {
		data, err := os.ReadFile(p)
		return file{mode: 0o755, content: data}, err
	}
	var (
		baseImg    = static
		files      = map[string]file{}
		entrypoint []string
		err        error
	)
	switch component {
	case "kube-apiserver", "kube-controller-manager", "kube-scheduler":
		files["usr/local/bin/"+component], err = bin(bins.kube(component))
	case "kube-proxy":
		baseImg = debian
		files["usr/local/bin/kube-proxy"], err = bin(bins.kube("kube-proxy"))
		if err == nil {
			files["usr/sbin/iptables-wrapper"], err = bin(filepath.Join(b.cfg.RepoRoot, "fixtures/images/kube-proxy/iptables-wrapper"))
		}
		for _, t := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
			files["usr/sbin/"+t] = file{mode: 0o777, link: "iptables-wrapper"}
		}
	case "etcd":
		files["usr/local/bin/etcd"], err = bin(bins.etcd)
	case "coredns":
		files["coredns"], err = bin(bins.coredns)
		entrypoint = []string{"/coredns"}
	case "pause":
		var pause string
		if pause, err = b.buildPause(ctx, version); err == nil {
			files["pause"], err = bin(pause)
		}
		entrypoint = []string{"/pause"}
	case "kindnetd":
		baseImg = debian
		// Not under bin/: on Debian's merged /usr, bin is a symlink a layer must not shadow.
		files["usr/local/bin/kindnetd"], err = bin(filepath.Join(b.cfg.RepoRoot, "fixtures/images/kindnetd/kindnetd.sh"))
		entrypoint = []string{"/usr/local/bin/kindnetd"}
	case "local-path-provisioner":
		files["usr/local/bin/local-path-provisioner"], err = bin(bins.lpp)
	case "local-path-helper":
		baseImg = debian
	default:
		return nil, fmt.Errorf("firedrill does not know how to build %q offline", component)
	}
	if err != nil {
		return nil, err
	}
	img := baseImg
	if len(files) > 0 {
		layer, err := layerOf(files)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(baseImg, layer); err != nil {
			return nil, err
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Config.Env = []string{"PATH=" + defaultPath}
	cfg.Config.Entrypoint = entrypoint
	cfg.Config.Cmd = nil
	return mutate.ConfigFile(img, cfg)
}

// staticBase is the minimal userland static binaries need: users, /tmp and CA certificates.
func staticBase() (v1.Image, error) {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w (apt-get install ca-certificates)", err)
	}
	layer, err := layerOf(map[string]file{
		"etc/passwd":                        {mode: 0o644, content: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		"etc/group":                         {mode: 0o644, content: []byte("root:x:0:\nnogroup:x:65534:\n")},
		"etc/nsswitch.conf":                 {mode: 0o644, content: []byte("hosts: files dns\n")},
		"etc/ssl/certs/ca-certificates.crt": {mode: 0o644, content: certs},
	}, "tmp")
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(empty.Image, layer)
}

// layerOf makes an uncompressed layer from files; extra names become world-writable directories.
func layerOf(files map[string]file, tmpDirs ...string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, d := range tmpDirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o1777}); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		for d := path.Dir(n); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirNames []string
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	sort.Strings(dirNames)
	for _, d := range dirNames {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		f := files[n]
		hdr := &tar.Header{Name: n, Mode: f.mode, Size: int64(len(f.content)), Typeflag: tar.TypeReg}
		if f.link != "" {
			hdr = &tar.Header{Name: n, Mode: f.mode, Typeflag: tar.TypeSymlink, Linkname: f.link}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if f.link == "" {
			if _, err := tw.Write(f.content); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// writeArchive writes a docker-archive holding several images under their exact references.
// go-containerregistry writes the layers and config; the tag lists are written here, because
// go-containerregistry normalises "docker.io/kindest/x" to "index.docker.io/kindest/x" while kind and
// containerd compare the exact strings. kind reads an archive's tags from whichever of
// "repositories" and "manifest.json" comes first, and from manifest.json only the first image's, so
// "repositories", naming every reference, is written first.
func writeArchive(dst string, images map[string]v1.Image) error {
	repositories := map[string]map[string]string{}
	refsByConfig := map[string][]string{}
	tagged := map[name.Reference]v1.Image{}
	for ref, img := range images {
		id, err := img.ConfigName()
		if err != nil {
			return err
		}
		repo, tag, ok := cutTag(ref)
		if !ok {
			return fmt.Errorf("image reference %q has no tag", ref)
		}
		if repositories[repo] == nil {
			repositories[repo] = map[string]string{}
		}
		repositories[repo][tag] = id.Hex
		refsByConfig[id.Hex] = append(refsByConfig[id.Hex], ref)
		t, err := name.NewTag(ref, name.WeakValidation)
		if err != nil {
			return err
		}
		tagged[t] = img
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	out := tar.NewWriter(f)
	repoJSON, err := json.Marshal(repositories)
	if err != nil {
		return err
	}
	if err := writeEntry(out, "repositories", repoJSON); err != nil {
		return err
	}

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.MultiRefWrite(tagged, pw)) }()
	defer pr.Close()
	in := tar.NewReader(pr)
	for {
		hdr, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if hdr.Name == "manifest.json" {
			data, err := io.ReadAll(in)
			if err != nil {
				return err
			}
			if data, err = exactRepoTags(data, refsByConfig); err != nil {
				return err
			}
			if err := writeEntry(out, hdr.Name, data); err != nil {
				return err
			}
			continue
		}
		if err := out.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	return f.Close()
}

// exactRepoTags rewrites each manifest.json entry's RepoTags to the exact references of its config.
func exactRepoTags(data []byte, refsByConfig map[string][]string) ([]byte, error) {
	var entries []map[string]any
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("parse manifest.json: %w", err)
	}
	for _, e := range entries {
		config, _ := e["Config"].(string)
		hex := strings.TrimSuffix(strings.TrimPrefix(path.Base(config), "sha256:"), ".json")
		refs, ok := refsByConfig[hex]
		if !ok {
			return nil, fmt.Errorf("manifest.json names config %s, which no image has", config)
		}
		e["RepoTags"] = refs
	}
	return json.Marshal(entries)
}

func cutTag(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") {
		return "", "", false
	}
	return ref[:i], ref[i+1:], true
}

func writeEntry(w *tar.Writer, name string, data []byte) error {
	if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}
