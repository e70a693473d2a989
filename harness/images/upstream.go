package images

import (
	"context"
	"fmt"
	"net"
	"time"

	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
)

// Where images come from.
const (
	SourceAuto     = "auto"     // upstream when a registry answers, offline otherwise
	SourceOffline  = "offline"  // everything built here from Debian packages and Go module sources
	SourceUpstream = "upstream" // kind's pinned node image and upstream PostgreSQL and Redis
)

// Upstream images, for users with a registry. The node image is kind's own default, pinned by
// digest in the kind release this module uses.
const (
	upstreamDebian   = "debian:bookworm-slim"
	upstreamPostgres = "postgres:15-bookworm"
	upstreamRedis    = "redis:7-bookworm"
	// upstreamOverlay renders the stack with those images.
	upstreamOverlay = "fixtures/aureus/manifests/overlays/upstream"
)

// registryReachable tells whether Docker Hub answers on this machine.
func registryReachable(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", "registry-1.docker.io:443")
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// buildUpstream pulls kind's node image and the upstream stack images, and builds the frontend
// (there is no upstream frontend) on Debian's slim image.
func (b *builder) buildUpstream(ctx context.Context) (Result, error) {
	for _, ref := range []string{kinddefaults.Image, upstreamDebian, upstreamPostgres, upstreamRedis} {
		if ImageExists(ctx, ref) {
			continue
		}
		b.cfg.Log.Info("pulling", "image", ref)
		if _, err := docker(ctx, nil, "pull", ref); err != nil {
			return Result{}, fmt.Errorf("%w (no registry here? use --source offline)", err)
		}
	}
	frontend, err := b.step(ctx, Frontend+" image", func(ctx context.Context) (string, error) {
		return b.stackImage(ctx, Frontend, upstreamDebian)
	})
	if err != nil {
		return Result{}, err
	}
	return Result{
		NodeImage: kinddefaults.Image,
		Stack:     map[string]string{Frontend: frontend, Postgres: upstreamPostgres, Redis: upstreamRedis},
		Manifests: upstreamOverlay,
	}, nil
}
