// Package stack deploys the AUREUS stand-in onto a drill cluster and knows its names.
package stack

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"

	"github.com/firedrill-dev/firedrill/harness/cluster"
)

// Names the runbook uses; the manifests under fixtures/aureus/manifests define them.
const (
	Namespace        = "aureus"
	FrontendName     = "aureus-frontend"
	PostgresName     = "aureus-postgres"
	RedisName        = "aureus-redis"
	EvidencePVC      = "aureus-evidence-pvc"
	EvidenceNodePath = "/mnt/aureus-evidence"
	// EvidenceSize bounds the evidence volume: a tmpfs of this size inside the kind node backs it,
	// so the storage drill fills a real, small filesystem and never the host's disk.
	EvidenceSize = "16m"
)

// Config says what to deploy.
type Config struct {
	// RepoRoot is the firedrill checkout holding fixtures/.
	RepoRoot string
	// Images are the stack images to load and use, as full references.
	Images []string
	// Manifests is the kustomization to deploy, relative to RepoRoot (default: the base).
	Manifests string
	Log       logr.Logger
}

// Deploy loads the stack's images into the nodes, backs the evidence volume with a size-limited
// tmpfs, applies the manifests and waits until every workload is rolled out.
func Deploy(ctx context.Context, c *cluster.Cluster, cfg Config) error {
	start := time.Now()
	if err := c.LoadImages(ctx, cfg.Images...); err != nil {
		return err
	}
	if err := c.NodeShell(ctx, evidenceMountScript); err != nil {
		return fmt.Errorf("mount the evidence tmpfs: %w", err)
	}
	manifests := cfg.Manifests
	if manifests == "" {
		manifests = "fixtures/aureus/manifests/base"
	}
	objs, err := cluster.Render(filepath.Join(cfg.RepoRoot, manifests), cfg.Images)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, objs); err != nil {
		return err
	}
	if err := c.WaitRolledOut(ctx, objs); err != nil {
		return err
	}
	cfg.Log.Info("stack rolled out", "namespace", Namespace, "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	return nil
}

var evidenceMountScript = fmt.Sprintf(`set -e
mkdir -p %[1]s
mountpoint -q %[1]s || mount -t tmpfs -o size=%[2]s,mode=0777 tmpfs %[1]s`, EvidenceNodePath, EvidenceSize)
