package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"os/exec"
)

// The drill runs in a worker outside the caller's process group, so a Ctrl-C or CI's SIGTERM never
// reaches the kubectl commands it runs in-process (they exit(1) on a signal, skipping the undo), and
// the worker dies with firedrill when that is killed.
func TestDrillWorkerOutsideCallersProcessGroup(t *testing.T) {
	bin, err := cli()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fakeBin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(fakeBin, 0o755); err != nil {
		t.Fatal(err)
	}
	// A docker that never answers holds the worker where it asks kind for its clusters.
	asked := filepath.Join(dir, "docker-asked")
	script := "#!/bin/sh\n: > '" + asked + "'\nexec sleep 120\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	runbook, err := filepath.Abs("../../fixtures/runbooks/incident-response.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "drill", "policy", "--runbook", runbook, "--work-dir", filepath.Join(dir, "work"),
		"--ledger", filepath.Join(dir, "ledger.jsonl"), "--artifacts", filepath.Join(dir, "artifacts"))
	cmd.Env = append(os.Environ(), "PATH="+fakeBin+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a job of its own, as a shell starts it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	parent := cmd.Process.Pid
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	waitFor(t, "the worker to ask docker for kind clusters", func() bool {
		_, err := os.Stat(asked)
		return err == nil
	})
	worker := childOf(t, parent)
	workerGroup := processGroup(t, worker)
	t.Cleanup(func() { syscall.Kill(-workerGroup, syscall.SIGKILL) }) // the fake docker's sleep
	if workerGroup == parent {
		t.Fatalf("the worker %d is in the caller's process group %d", worker, parent)
	}
	environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(worker), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(environ), drillWorkerEnv+"=1") {
		t.Errorf("process %d is not the drill worker", worker)
	}

	// Ctrl-C to the caller's job: the parent forwards it; the worker is not signalled (it would
	// have died: it has no handler yet this early).
	if err := syscall.Kill(-parent, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if !alive(worker) {
		t.Fatal("the worker died of the SIGINT sent to the caller's process group")
	}

	// SIGKILL of firedrill takes the worker with it, as it would an in-process drill.
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, "the worker to die with its parent", func() bool { return !alive(worker) })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childOf returns the one child process of pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	if err != nil {
		t.Fatal(err)
	}
	var children []string
	for _, task := range tasks {
		data, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		children = append(children, strings.Fields(string(data))...)
	}
	if len(children) != 1 {
		t.Fatalf("process %d has children %v, want one drill worker", pid, children)
	}
	child, err := strconv.Atoi(children[0])
	if err != nil {
		t.Fatal(err)
	}
	return child
}

// stat returns the fields of /proc/pid/stat after the command name.
func stat(pid int) ([]string, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), nil
}

func processGroup(t *testing.T, pid int) int {
	t.Helper()
	fields, err := stat(pid)
	if err != nil {
		t.Fatal(err)
	}
	group, err := strconv.Atoi(fields[2]) // state, ppid, pgrp
	if err != nil {
		t.Fatal(err)
	}
	return group
}

// alive reports whether pid runs (a zombie has ended).
func alive(pid int) bool {
	fields, err := stat(pid)
	return err == nil && fields[0] != "Z"
}
