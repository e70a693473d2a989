package images

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const debianSuite = "bookworm"

// debianPackages go into the shared root filesystem every other image starts from.
var debianPackages = []string{
	"bash", "ca-certificates", "conntrack", "curl", "findutils", "iproute2", "iptables", "jq", "procps",
}

// debian debootstraps the shared Debian root filesystem and imports it into docker.
func (b *builder) debian(ctx context.Context) (string, error) {
	k := newKey("debian").add("suite", debianSuite).add("mirror", b.cfg.DebianMirror).
		add("packages", strings.Join(debianPackages, ","))
	tag := "firedrill.local/debian:" + debianSuite + "-" + k.sum()
	if ImageExists(ctx, tag) {
		return tag, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("debootstrap is not installed: apt-get install debootstrap (make images does this as root)")
	}
	work, err := b.workDir("debian")
	if err != nil {
		return "", err
	}
	defer b.removeWorkDir(work)
	rootfs := filepath.Join(work, "rootfs")
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(debianPackages, ","), debianSuite, rootfs, b.cfg.DebianMirror)
	cmd.Stdout, cmd.Stderr = b.cfg.BuildLog, b.cfg.BuildLog
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("debootstrap %s: %w (see the build log)", debianSuite, err)
	}
	if err := os.RemoveAll(filepath.Join(rootfs, "var/cache/apt/archives")); err != nil {
		return "", err
	}
	importCmd := exec.CommandContext(ctx, "sh", "-c",
		`tar -C "$1" --numeric-owner -c . | docker import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$2"`,
		"import", rootfs, tag)
	if out, err := importCmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker import %s: %w: %s", tag, err, out)
	}
	return tag, nil
}

// removeWorkDir deletes a scratch directory, but never while something is mounted inside it
// (debootstrap mounts /proc and /sys in its target): removing through a mount would reach the host.
func (b *builder) removeWorkDir(dir string) {
	if mounted, err := mountsUnder(dir); err != nil || len(mounted) > 0 {
		b.cfg.Log.Info("leaving work directory in place: something is mounted inside", "dir", dir, "mounts", mounted)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		b.cfg.Log.Info("could not remove work directory", "dir", dir, "error", err.Error())
	}
}

func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var found []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 1 && (fields[1] == dir || strings.HasPrefix(fields[1], dir+"/")) {
			found = append(found, fields[1])
		}
	}
	return found, s.Err()
}
