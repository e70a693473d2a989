package images

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"golang.org/x/mod/modfile"
	"sigs.k8s.io/kind/pkg/build/nodeimage"

	"github.com/firedrill-dev/firedrill/harness/internal/kindlog"
)

// Pinned tool versions; Kubernetes' own version comes from fixtures/images/kubernetes/go.mod.
const (
	// nodeRecipe changes whenever this package assembles the node image differently, so the
	// content key of the node image changes with it.
	nodeRecipe = "2"

	crictlVersion = "v1.34.0"
	lppVersion    = "v0.0.30"
)

// nodeImage builds kind's node image the way kind does (`kind build node-image --type file`),
// from a Kubernetes server tarball whose binaries and component images were all built here.
func (b *builder) nodeImage(ctx context.Context, base string) (string, error) {
	root := b.cfg.RepoRoot
	kubeVersion, err := moduleVersion(filepath.Join(root, "fixtures/images/kubernetes/go.mod"), "k8s.io/kubernetes")
	if err != nil {
		return "", err
	}
	kindVersion, err := moduleVersion(filepath.Join(root, "go.mod"), "sigs.k8s.io/kind")
	if err != nil {
		return "", err
	}
	k := newKey("node").add("recipe", nodeRecipe).add("base", base).add("kubernetes", kubeVersion).add("kind", kindVersion).
		add("crictl", crictlVersion).add("local-path-provisioner", lppVersion).add("go", runtime.Version())
	for _, dir := range []string{"kind-base", "kubernetes", "etcd", "coredns", "kindnetd", "kube-proxy"} {
		if err := k.addTree(filepath.Join(root, "fixtures/images", dir)); err != nil {
			return "", err
		}
	}
	tag := "firedrill.local/kind-node:" + kubeVersion + "-" + k.sum()
	if ImageExists(ctx, tag) {
		return tag, nil
	}

	bins, err := b.binaries(ctx, kubeVersion)
	if err != nil {
		return "", err
	}
	kindDir, err := moduleDir(ctx, root, "sigs.k8s.io/kind")
	if err != nil {
		return "", err
	}
	baseImage, err := b.kindBase(ctx, base, kindDir, bins)
	if err != nil {
		return "", err
	}
	work, err := b.workDir("node")
	if err != nil {
		return "", err
	}
	defer b.removeWorkDir(work)
	tarball, err := b.serverTarball(ctx, work, kubeVersion, kindDir, base, bins)
	if err != nil {
		return "", err
	}
	b.cfg.Log.Info("building kind node image", "image", tag, "base", baseImage)
	err = nodeimage.Build(
		nodeimage.WithImage(tag),
		nodeimage.WithBaseImage(baseImage),
		nodeimage.WithKubeParam(tarball),
		nodeimage.WithBuildType("file"),
		nodeimage.WithLogger(kindlog.Logger{Log: b.cfg.Log.V(1)}),
	)
	if err != nil {
		return "", fmt.Errorf("kind build node-image: %w", err)
	}
	return tag, nil
}

// kindBase builds the node base image from Debian packages plus kind's own base files.
func (b *builder) kindBase(ctx context.Context, base, kindDir string, bins binaries) (string, error) {
	dockerDir := filepath.Join(b.cfg.RepoRoot, "fixtures/images/kind-base")
	kindFiles := filepath.Join(kindDir, "images/base/files")
	k := newKey("kind-base").add("base", base).add("crictl", crictlVersion)
	for _, dir := range []string{dockerDir, kindFiles} {
		if err := k.addTree(dir); err != nil {
			return "", err
		}
	}
	tag := "firedrill.local/kind-base:" + k.sum()
	if ImageExists(ctx, tag) {
		return tag, nil
	}
	work, err := b.workDir("kind-base")
	if err != nil {
		return "", err
	}
	defer b.removeWorkDir(work)
	if err := copyTree(dockerDir, work); err != nil {
		return "", err
	}
	if err := copyTree(kindFiles, filepath.Join(work, "kind")); err != nil {
		return "", err
	}
	if err := copyFile(bins.crictl, filepath.Join(work, "crictl")); err != nil {
		return "", err
	}
	if err := dockerBuild(ctx, tag, work, map[string]string{"BASE": base}, b.cfg.BuildLog); err != nil {
		return "", err
	}
	return tag, nil
}

// serverTarball lays out kubernetes-server-linux-amd64.tar.gz as kind's "file" build type reads it:
// kubernetes/version, kubernetes/server/bin/{kubeadm,kubelet,kubectl} and four image archives that
// together hold every image the node must have, so kind never pulls.
func (b *builder) serverTarball(ctx context.Context, work, kubeVersion, kindDir, base string, bins binaries) (string, error) {
	required, err := requiredImages(ctx, bins.kube("kubeadm"), kubeVersion, kindDir)
	if err != nil {
		return "", err
	}
	components, err := b.componentImages(ctx, work, base, bins, required)
	if err != nil {
		return "", err
	}
	binDir := filepath.Join(work, "kubernetes/server/bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	for archive, images := range components {
		if err := writeArchive(filepath.Join(binDir, archive+".tar"), images); err != nil {
			return "", fmt.Errorf("write %s.tar: %w", archive, err)
		}
	}
	for _, name := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := copyFile(bins.kube(name), filepath.Join(binDir, name)); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(work, "kubernetes/version"), []byte(kubeVersion+"\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(work, "kubernetes-server-linux-amd64.tar.gz")
	return out, tarGz(filepath.Join(work, "kubernetes"), out)
}

// requiredImages lists what a node needs: kubeadm's images for this version, containerd's sandbox
// image from kind's config, and kind's default CNI and storage images.
func requiredImages(ctx context.Context, kubeadm, kubeVersion, kindDir string) ([]string, error) {
	out, err := exec.CommandContext(ctx, kubeadm, "config", "images", "list", "--kubernetes-version", kubeVersion).Output()
	if err != nil {
		return nil, fmt.Errorf("kubeadm config images list: %w", err)
	}
	images := strings.Fields(string(out))
	config, err := os.ReadFile(filepath.Join(kindDir, "images/base/files/etc/containerd/config.toml"))
	if err != nil {
		return nil, err
	}
	sandbox := regexp.MustCompile(`sandbox_image = "([^"]+)"`).FindStringSubmatch(string(config))
	if sandbox == nil {
		return nil, fmt.Errorf("kind's containerd config names no sandbox_image")
	}
	images = append(images, sandbox[1])
	kindImages := regexp.MustCompile(`docker\.io/kindest/[a-z-]+:v[0-9a-f-]+`)
	for _, f := range []string{"const_cni.go", "const_storage.go"} {
		src, err := os.ReadFile(filepath.Join(kindDir, "pkg/build/nodeimage", f))
		if err != nil {
			return nil, err
		}
		found := kindImages.FindAllString(string(src), -1)
		if len(found) == 0 {
			return nil, fmt.Errorf("no kindest image found in kind's %s: has kind's layout changed?", f)
		}
		images = append(images, found...)
	}
	return dedupe(images), nil
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func moduleVersion(goMod, module string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	f, err := modfile.ParseLax(goMod, data, nil)
	if err != nil {
		return "", err
	}
	for _, r := range f.Require {
		if r.Mod.Path == module {
			return r.Mod.Version, nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", goMod, module)
}

func moduleDir(ctx context.Context, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	m := regexp.MustCompile(`"Dir":\s*"([^"]+)"`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("go mod download %s: no directory in output", module)
	}
	return string(m[1]), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tarGz writes dir (as its base name) into a gzip-compressed tarball.
func tarGz(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	parent := filepath.Dir(dir)
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(parent, path)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(tw, in)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}
