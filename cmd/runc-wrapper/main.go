// Command runc-wrapper lets privileged containers start on hosts whose capability bounding set lacks
// capabilities that "privileged" asks for (seen: CAP_SYS_RESOURCE missing on Firecracker VMs).
// Registered as docker's default runtime, it drops from the OCI spec every capability the host cannot
// grant and clamps rlimits to the host's hard limits, then hands over to the real runc unchanged.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const realRunc = "/usr/sbin/runc"

func main() {
	if err := adjustSpec(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "runc-wrapper:", err)
		os.Exit(1)
	}
	err := syscall.Exec(realRunc, append([]string{realRunc}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, "runc-wrapper: exec", realRunc+":", err)
	os.Exit(1)
}

// adjustSpec edits the spec file the runc invocation will read: config.json for create/run,
// the --process file for exec. Other subcommands pass through.
func adjustSpec(args []string) error {
	sub, rest := subcommand(args)
	switch sub {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return rewrite(filepath.Join(bundle, "config.json"), func(spec map[string]any) {
			if proc, ok := spec["process"].(map[string]any); ok {
				clampProcess(proc)
			}
		})
	case "exec":
		if file := flagValue(rest, "--process", "-p"); file != "" {
			return rewrite(file, clampProcess)
		}
	}
	return nil
}

// subcommand skips runc's global flags and returns the subcommand and its arguments.
func subcommand(args []string) (string, []string) {
	withValue := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		if withValue[a] {
			i++
		}
	}
	return "", nil
}

func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}

func rewrite(path string, edit func(map[string]any)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	edit(spec)
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// clampProcess removes capabilities outside the host's bounding set and lowers rlimits above the
// host's hard limits.
func clampProcess(proc map[string]any) {
	bounding := hostBoundingSet()
	if caps, ok := proc["capabilities"].(map[string]any); ok {
		for set, list := range caps {
			names, _ := list.([]any)
			kept := names[:0]
			for _, n := range names {
				if name, _ := n.(string); bounding[name] {
					kept = append(kept, n)
				}
			}
			caps[set] = kept
		}
	}
	limits, _ := proc["rlimits"].([]any)
	for _, l := range limits {
		rl, _ := l.(map[string]any)
		resource, ok := rlimitResources[fmt.Sprint(rl["type"])]
		if !ok {
			continue
		}
		var host syscall.Rlimit
		if syscall.Getrlimit(resource, &host) != nil {
			continue
		}
		for _, k := range []string{"hard", "soft"} {
			if v, ok := rl[k].(float64); ok && uint64(v) > host.Max {
				rl[k] = host.Max
			}
		}
	}
}

var rlimitResources = map[string]int{
	"RLIMIT_NOFILE":  syscall.RLIMIT_NOFILE,
	"RLIMIT_NPROC":   6,
	"RLIMIT_MEMLOCK": 8,
}

// hostBoundingSet reads CapBnd of this process and names every capability in it.
func hostBoundingSet() map[string]bool {
	set := map[string]bool{}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return set
	}
	for _, line := range strings.Split(string(data), "\n") {
		hex, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return set
		}
		for bit, name := range capabilityNames {
			if mask&(1<<uint(bit)) != 0 {
				set[name] = true
			}
		}
	}
	return set
}

// capabilityNames lists Linux capabilities by bit number (linux/capability.h).
var capabilityNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
	"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}
