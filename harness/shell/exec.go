package shell

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// localTools are the programs a runbook may run on the operator's machine: text tools that read
// their input and write their output, nothing that talks to the network or starts other programs.
var localTools = []string{
	"awk", "cat", "cut", "date", "echo", "grep", "egrep", "fgrep", "head", "jq", "printf", "sed",
	"sleep", "sort", "tail", "tee", "tr", "uniq", "wc", "true", "false", "base64", "column",
}

// networkTools reach hosts outside the drill cluster when run locally.
var networkTools = []string{"curl", "wget", "nc", "ncat", "ssh", "scp", "psql", "redis-cli", "aws", "gsutil", "az", "http", "telnet"}

// exec decides how each simple command runs.
func (r *Runner) exec(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		name := args[0]
		switch {
		case name == "kubectl":
			return r.kubectl(ctx, args[1:])
		case strings.Contains(name, "/"):
			return r.script(ctx, next, args)
		case slices.Contains(networkTools, name):
			return r.refuse("runs %s on this machine, which would reach beyond the drill cluster; run it in a pod with kubectl exec", name)
		case slices.Contains(localTools, name):
			if name == "tee" {
				for _, a := range args[1:] {
					if !strings.HasPrefix(a, "-") {
						if _, err := r.scratchPath(ctx, a); err != nil {
							return err
						}
					}
				}
				args = r.teeInScratch(ctx, args)
			}
			return next(ctx, args)
		}
		return r.refuse("runs %s, which is not a tool firedrill runs on this machine (allowed: kubectl and %s)", name, strings.Join(localTools, ", "))
	}
}

// teeInScratch rewrites tee's file arguments to their scratch paths.
func (r *Runner) teeInScratch(ctx context.Context, args []string) []string {
	out := []string{args[0]}
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		p, _ := r.scratchPath(ctx, a)
		r.written = append(r.written, strings.TrimPrefix(p, r.cfg.Scratch+string(filepath.Separator)))
		out = append(out, p)
	}
	return out
}

// script runs one of the runbook's own scripts, found relative to ScriptDir; a script that is not
// there is the runbook's problem, reported as such.
func (r *Runner) script(ctx context.Context, next interp.ExecHandlerFunc, args []string) error {
	name := args[0]
	if filepath.IsAbs(name) {
		return r.refuse("runs %s, an absolute path outside the runbook's scripts", name)
	}
	if r.cfg.ScriptDir == "" {
		return r.refuse("runs script %s, but no script directory was given", name)
	}
	path := filepath.Join(r.cfg.ScriptDir, filepath.Clean(name))
	rel, err := filepath.Rel(r.cfg.ScriptDir, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return r.refuse("runs %s, outside the runbook's directory", name)
	}
	info, err := os.Stat(path)
	if err != nil {
		hc := interp.HandlerCtx(ctx)
		_, _ = hc.Stderr.Write([]byte(name + ": script not found (looked in " + r.cfg.ScriptDir + ")\n"))
		return interp.ExitStatus(127)
	}
	if info.Mode()&0o111 == 0 {
		hc := interp.HandlerCtx(ctx)
		_, _ = hc.Stderr.Write([]byte(name + ": script is not executable\n"))
		return interp.ExitStatus(126)
	}
	return next(ctx, append([]string{path}, args[1:]...))
}
