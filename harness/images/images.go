// Package images builds every image a firedrill cluster runs, offline: a Debian root filesystem
// from Debian's packages, the AUREUS stack on top of it, and a kind node image whose Kubernetes,
// etcd, CoreDNS and storage components are compiled from Go module sources.
//
// Every output is content-addressed: its tag or cache directory carries a hash of its inputs, so a
// second build with nothing changed only checks that the outputs exist, and a changed input rebuilds
// just what depends on it. Outputs live in the docker image store and the user's cache directory,
// never in the checkout.
package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
)

// Stack images, by the name the manifests use.
const (
	Frontend = "aureus-frontend"
	Postgres = "aureus-postgres"
	Redis    = "aureus-redis"
)

// Config says where the inputs are and where outputs may be written.
type Config struct {
	// RepoRoot is the firedrill checkout (inputs under fixtures/).
	RepoRoot string
	// CacheDir holds build outputs between runs, e.g. ~/.cache/firedrill.
	CacheDir string
	// DebianMirror is the apt mirror debootstrap and apt-get use.
	DebianMirror string
	// Source is SourceAuto (default), SourceOffline or SourceUpstream.
	Source string
	// BuildLog receives the output of long build commands.
	BuildLog io.Writer
	Log      logr.Logger
}

// Result names the images a cluster needs.
type Result struct {
	NodeImage string            `json:"nodeImage"`
	Stack     map[string]string `json:"stack"`
	// Manifests is the kustomization to deploy, relative to the checkout.
	Manifests string `json:"manifests"`
}

// offlineManifests renders the stack with the images built here.
const offlineManifests = "fixtures/aureus/manifests/base"

// DefaultCacheDir is the user's cache directory for firedrill builds.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	return filepath.Join(dir, "firedrill"), nil
}

// Build makes sure every image exists, building what is missing.
func Build(ctx context.Context, cfg Config) (Result, error) {
	if cfg.BuildLog == nil {
		cfg.BuildLog = io.Discard
	}
	if cfg.DebianMirror == "" {
		cfg.DebianMirror = "http://deb.debian.org/debian"
	}
	if err := CheckDocker(ctx); err != nil {
		return Result{}, err
	}
	b := &builder{cfg: cfg}
	switch cfg.Source {
	case SourceUpstream:
		return b.buildUpstream(ctx)
	case SourceAuto, "":
		if registryReachable(ctx) {
			cfg.Log.Info("a registry answers: using upstream images (--source offline builds them here)")
			return b.buildUpstream(ctx)
		}
		cfg.Log.Info("no registry: building every image offline")
	case SourceOffline:
	default:
		return Result{}, fmt.Errorf("unknown image source %q: use auto, offline or upstream", cfg.Source)
	}
	base, err := b.step(ctx, "debian root filesystem", b.debian)
	if err != nil {
		return Result{}, err
	}
	res := Result{Stack: map[string]string{}, Manifests: offlineManifests}
	res.NodeImage, err = b.step(ctx, "kind node image", func(ctx context.Context) (string, error) { return b.nodeImage(ctx, base) })
	if err != nil {
		return Result{}, err
	}
	for _, name := range []string{Frontend, Postgres, Redis} {
		tag, err := b.step(ctx, name+" image", func(ctx context.Context) (string, error) { return b.stackImage(ctx, name, base) })
		if err != nil {
			return Result{}, err
		}
		res.Stack[name] = tag
	}
	return res, nil
}

type builder struct{ cfg Config }

// step runs one build stage and logs its outcome and duration.
func (b *builder) step(ctx context.Context, what string, run func(context.Context) (string, error)) (string, error) {
	start := time.Now()
	b.cfg.Log.Info("image step", "step", what)
	out, err := run(ctx)
	if err != nil {
		return "", err
	}
	b.cfg.Log.Info("image ready", "step", what, "image", out, "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	return out, nil
}

// workDir is a scratch directory for one build, removed by the caller.
func (b *builder) workDir(name string) (string, error) {
	root := filepath.Join(b.cfg.CacheDir, "work")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(root, name+"-")
}

// WriteResult records the built images for the cluster commands.
func WriteResult(path string, res Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// ReadResult loads what WriteResult wrote.
func ReadResult(path string) (Result, error) {
	var res Result
	data, err := os.ReadFile(path)
	if err != nil {
		return res, fmt.Errorf("read built images: %w (run 'make images' first)", err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("parse %s: %w (delete it and run 'make images')", path, err)
	}
	return res, nil
}
