package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// binaries are the programs compiled for the node image, each in a content-addressed cache directory.
type binaries struct {
	kubeDir string // kube-apiserver, kubelet, kubeadm, ...
	etcd    string
	crictl  string
	coredns string
	lpp     string
}

func (b binaries) kube(name string) string { return filepath.Join(b.kubeDir, name) }

// binaries compiles everything the node image needs that is not cached yet. The Kubernetes build is
// the long one (about 20 minutes on 2 cores, cold).
func (b *builder) binaries(ctx context.Context, kubeVersion string) (binaries, error) {
	root := b.cfg.RepoRoot
	var bins binaries
	kubeSrc := filepath.Join(root, "fixtures/images/kubernetes")
	k := newKey("kubernetes").add("go", runtime.Version())
	if err := k.addTree(kubeSrc); err != nil {
		return bins, err
	}
	var err error
	bins.kubeDir, err = b.cached(ctx, "kubernetes-"+kubeVersion+"-"+k.sum(), func(out string) error {
		b.cfg.Log.Info("compiling Kubernetes from the Go module proxy (about 20 minutes cold on 2 cores)", "version", kubeVersion)
		return b.run(ctx, kubeSrc, nil, "bash", "build.sh", out)
	})
	if err != nil {
		return bins, err
	}

	if bins.etcd, err = b.buildFixture(ctx, "etcd", ""); err != nil {
		return bins, err
	}

	if bins.coredns, err = b.buildCoreDNS(ctx, bins.kube("kubeadm"), kubeVersion); err != nil {
		return bins, err
	}

	for _, tool := range []struct {
		pkg, version string
		dst          *string
	}{
		{"sigs.k8s.io/cri-tools/cmd/crictl", crictlVersion, &bins.crictl},
		{"github.com/rancher/local-path-provisioner", lppVersion, &bins.lpp},
	} {
		name := filepath.Base(tool.pkg)
		dir, err := b.cached(ctx, name+"-"+tool.version+"-"+runtime.Version(), func(out string) error {
			return b.run(ctx, out, []string{"CGO_ENABLED=0", "GOBIN=" + out, "GOFLAGS=-trimpath"},
				"go", "install", "-ldflags", "-s -w", tool.pkg+"@"+tool.version)
		})
		if err != nil {
			return bins, err
		}
		*tool.dst = filepath.Join(dir, name)
	}
	return bins, nil
}

// buildCoreDNS compiles CoreDNS with the plugins kind's Corefile uses (fixtures/images/coredns), at
// the version kubeadm asks for.
func (b *builder) buildCoreDNS(ctx context.Context, kubeadm, kubeVersion string) (string, error) {
	want, err := kubeadmImageTag(ctx, kubeadm, kubeVersion, "coredns")
	if err != nil {
		return "", err
	}
	have, err := moduleVersion(filepath.Join(b.cfg.RepoRoot, "fixtures/images/coredns/go.mod"), "github.com/coredns/coredns")
	if err != nil {
		return "", err
	}
	if have != want {
		return "", fmt.Errorf("kubeadm %s asks for CoreDNS %s but fixtures/images/coredns builds %s: update its go.mod (go get github.com/coredns/coredns@%s)", kubeVersion, want, have, want)
	}
	return b.buildFixture(ctx, "coredns", want)
}

// buildFixture compiles the command in fixtures/images/<name>, a Go module of its own, into a cache
// directory keyed by its sources (and version, when given).
func (b *builder) buildFixture(ctx context.Context, name, version string) (string, error) {
	src := filepath.Join(b.cfg.RepoRoot, "fixtures/images", name)
	k := newKey(name).add("go", runtime.Version())
	if err := k.addTree(src); err != nil {
		return "", err
	}
	cacheName := name + "-" + k.sum()
	if version != "" {
		cacheName = name + "-" + version + "-" + k.sum()
	}
	out, err := b.cached(ctx, cacheName, func(out string) error {
		return b.run(ctx, src, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(out, name), ".")
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(out, name), nil
}

// kubeadmImageTag returns the tag kubeadm uses for the image whose name ends with /name.
func kubeadmImageTag(ctx context.Context, kubeadm, kubeVersion, name string) (string, error) {
	out, err := exec.CommandContext(ctx, kubeadm, "config", "images", "list", "--kubernetes-version", kubeVersion).Output()
	if err != nil {
		return "", fmt.Errorf("kubeadm config images list: %w", err)
	}
	for _, img := range strings.Fields(string(out)) {
		repo, tag, ok := strings.Cut(img, ":")
		if ok && strings.HasSuffix(repo, "/"+name) {
			return tag, nil
		}
	}
	return "", fmt.Errorf("kubeadm lists no %s image", name)
}

// buildPause compiles Kubernetes' pause container from the C source in the k8s.io/kubernetes module.
func (b *builder) buildPause(ctx context.Context, version string) (string, error) {
	kubeSrc := filepath.Join(b.cfg.RepoRoot, "fixtures/images/kubernetes")
	dir, err := moduleDir(ctx, kubeSrc, "k8s.io/kubernetes")
	if err != nil {
		return "", err
	}
	source := filepath.Join(dir, "build/pause/linux/pause.c")
	k := newKey("pause").add("version", version)
	if err := k.addFile(dir, source); err != nil {
		return "", err
	}
	out, err := b.cached(ctx, "pause-"+version+"-"+k.sum(), func(out string) error {
		return b.run(ctx, out, nil, "gcc", "-Os", "-Wall", "-static", "-DVERSION="+version, "-o", filepath.Join(out, "pause"), source)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(out, "pause"), nil
}

// cached returns CacheDir/bin/<name>, running build into a fresh directory first when it is
// missing; the directory is only published (renamed into place) once the build succeeded.
func (b *builder) cached(ctx context.Context, name string, build func(out string) error) (string, error) {
	dst := filepath.Join(b.cfg.CacheDir, "bin", name)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), name+".partial-")
	if err != nil {
		return "", err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

func (b *builder) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(b.cfg.BuildLog, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail.String())
	}
	return nil
}
