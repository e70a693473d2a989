package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// ErrDockerUnavailable means the docker CLI is missing or no Docker engine answers it; CheckDocker's
// error says which and what to run (usually `make docker`).
var ErrDockerUnavailable = errors.New("docker is not available")

// docker runs the docker CLI, as kind itself does.
func docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return out.String(), fmt.Errorf("docker %s: %w: %s", args[0], err, msg)
	}
	return out.String(), nil
}

// CheckDocker reports ErrDockerUnavailable when the docker CLI or engine is missing, in one line
// that says which and what to do.
func CheckDocker(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("%w: no docker command in PATH: install and start it with 'make docker'", ErrDockerUnavailable)
	}
	_, err := docker(ctx, nil, "info", "--format", "{{.ServerVersion}}")
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case strings.Contains(err.Error(), "permission denied"):
		return fmt.Errorf("%w: permission denied on the docker socket: run as root or add this user to the docker group", ErrDockerUnavailable)
	case os.Getenv("DOCKER_HOST") != "":
		return fmt.Errorf("%w: no engine answers at DOCKER_HOST=%s: start one with 'make docker' and unset DOCKER_HOST", ErrDockerUnavailable, os.Getenv("DOCKER_HOST"))
	}
	return fmt.Errorf("%w: the engine is not running: start it with 'make docker' (or 'sudo systemctl start docker')", ErrDockerUnavailable)
}

// ImageExists tells whether the local docker image store holds ref.
func ImageExists(ctx context.Context, ref string) bool {
	_, err := docker(ctx, nil, "image", "inspect", "--format", "{{.Id}}", ref)
	return err == nil
}

// dockerBuild builds contextDir's Dockerfile with the classic builder, which needs no registry.
func dockerBuild(ctx context.Context, tag, contextDir string, buildArgs map[string]string, logTo io.Writer) error {
	args := []string{"build", "--network", "host", "--pull=false", "-t", tag}
	for k, v := range buildArgs {
		args = append(args, "--build-arg", k+"="+v)
	}
	args = append(args, contextDir)
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(logTo, &tail)
	cmd.Stderr = io.MultiWriter(logTo, &tail)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker build %s: %w: %s", tag, err, tail.String())
	}
	return nil
}

// tailBuffer keeps the last few KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
