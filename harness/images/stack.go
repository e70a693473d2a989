package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// stackImage builds one AUREUS image from fixtures/images/<name>/Dockerfile on the Debian base.
// Its files come from fixtures/aureus/<component>/; the frontend's binary is compiled into the context.
func (b *builder) stackImage(ctx context.Context, name, base string) (string, error) {
	root := b.cfg.RepoRoot
	dockerDir := filepath.Join(root, "fixtures/images", name)
	component := strings.TrimPrefix(name, "aureus-")
	sourceDir := filepath.Join(root, "fixtures/aureus", component)

	k := newKey("stack").add("name", name).add("base", base)
	for _, dir := range []string{dockerDir, sourceDir} {
		if err := k.addTree(dir); err != nil {
			return "", fmt.Errorf("hash %s: %w", dir, err)
		}
	}
	if name == Frontend {
		for _, f := range []string{"go.mod", "go.sum"} {
			if err := k.addFile(root, filepath.Join(root, f)); err != nil {
				return "", err
			}
		}
	}
	tag := "firedrill.local/" + name + ":" + k.sum()
	if ImageExists(ctx, tag) {
		return tag, nil
	}

	work, err := b.workDir(name)
	if err != nil {
		return "", err
	}
	defer b.removeWorkDir(work)
	if err := copyTree(dockerDir, work); err != nil {
		return "", err
	}
	if name == Frontend {
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w",
			"-o", filepath.Join(work, name), "./fixtures/aureus/frontend")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build frontend: %w: %s", err, out)
		}
	} else if err := copyTree(sourceDir, work); err != nil {
		return "", err
	}
	if err := dockerBuild(ctx, tag, work, map[string]string{"BASE": base}, b.cfg.BuildLog); err != nil {
		return "", err
	}
	return tag, nil
}

// copyTree copies regular files and directories from src into dst, keeping modes.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return fmt.Errorf("copy %s: only regular files and directories are supported", path)
		}
	})
}
