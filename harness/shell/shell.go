// Package shell runs a runbook's commands exactly as written, against the drill cluster only.
//
// Commands are parsed and interpreted by mvdan.cc/sh. kubectl runs in-process from kubectl's own
// command tree, pinned to the drill's kubeconfig, context and namespace; a small set of local text
// tools (date, grep, sort, tee...) run as real processes; anything else that would reach beyond
// the drill — another namespace or cluster, a host on the network, an unknown program — is refused
// before it runs. Redirections land in a per-drill scratch directory. Placeholders such as [ID] and
// variables such as $REDIS_PASSWORD are filled only from an explicit Table; an unknown one refuses
// the command. Secret values are redacted from every byte of output.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/firedrill-dev/firedrill/harness/internal/redact"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// Config says where commands may act.
type Config struct {
	// Kubeconfig and Context pin kubectl to the drill cluster; a command naming any other is refused.
	Kubeconfig string
	Context    string
	// Namespace is the only namespace kubectl may act in; it is also the default.
	Namespace string
	// Scratch receives redirections and relative files; /tmp/... is mapped into it.
	Scratch string
	// ScriptDir is where the runbook's relative scripts (./scripts/x.sh) are looked up.
	ScriptDir string
	// Table fills placeholders and variables.
	Table Table
	// Timeout bounds each command (default 2 minutes): a runbook command may wait forever.
	Timeout time.Duration
	// DryRun makes every mutating kubectl command a server-side dry run.
	DryRun bool
}

// Status says what happened to one command.
type Status string

// Statuses of a command.
const (
	Succeeded Status = "succeeded" // ran and exited 0
	Failed    Status = "failed"    // ran and exited non-zero, or could not start
	Refused   Status = "refused"   // not run: it would act outside the drill, or names an unknown placeholder
	TimedOut  Status = "timed-out" // ran longer than the timeout
	Skipped   Status = "skipped"   // a dry run: it changes data and kubectl has no dry run for it
)

// Outcome is what one command did. Output is redacted; Command is the text as written in the runbook.
type Outcome struct {
	Command  runbook.Command `json:"-"`
	Line     int             `json:"line"`
	Text     string          `json:"command"`
	Status   Status          `json:"status"`
	ExitCode int             `json:"exitCode"`
	Stdout   string          `json:"stdout,omitempty"`
	Stderr   string          `json:"stderr,omitempty"`
	Reason   string          `json:"reason,omitempty"` // why it was refused or failed
	DryRun   bool            `json:"dryRun,omitempty"`
	Files    []string        `json:"files,omitempty"` // scratch files the command wrote
	Duration time.Duration   `json:"duration"`
}

// OK reports whether the command ran and succeeded.
func (o Outcome) OK() bool { return o.Status == Succeeded }

// Runner runs commands. One Runner keeps shell state (variables, directory) across the commands
// of a block, as a person pasting them into one terminal would.
type Runner struct {
	cfg      Config
	redactor *redact.Redactor
	mu       sync.Mutex
	interp   *interp.Runner
	// refusal is set by a handler that refused a call during the current command.
	refusal string
	// skipped is set when a dry run left out a call that would change data.
	skipped        string
	written        []string
	dryRun         bool
	stdout, stderr *capture
	// assigned are the variables earlier commands of the block set.
	assigned map[string]bool
}

// New returns a Runner; the scratch directory is created.
func New(cfg Config) (*Runner, error) {
	if cfg.Kubeconfig == "" || cfg.Namespace == "" || cfg.Scratch == "" {
		return nil, errors.New("shell: kubeconfig, namespace and scratch directory are required")
	}
	if cfg.ScriptDir != "" {
		dir, err := filepath.Abs(cfg.ScriptDir)
		if err != nil {
			return nil, err
		}
		cfg.ScriptDir = dir
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if err := os.MkdirAll(cfg.Scratch, 0o700); err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	r := &Runner{cfg: cfg, redactor: redact.New(cfg.Table.SecretValues()...)}
	return r, r.reset()
}

func (r *Runner) reset() error {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + r.cfg.Scratch,
		"TMPDIR=" + r.cfg.Scratch,
		"LANG=C.UTF-8",
		"TZ=UTC",
	}
	for _, v := range r.cfg.Table.Vars {
		env = append(env, v.Name+"="+v.Value)
	}
	r.stdout, r.stderr = &capture{}, &capture{}
	ir, err := interp.New(
		interp.StdIO(bytes.NewReader(nil), r.stdout, r.stderr),
		interp.Env(expand.ListEnviron(env...)),
		interp.Dir(r.cfg.Scratch),
		// An unset variable is an error, never an empty string; a failing stage fails the pipeline,
		// as a person would see its error on the screen.
		interp.Params("-u", "-o", "pipefail"),
		interp.OpenHandler(r.open),
		interp.ExecHandlers(r.exec),
	)
	if err != nil {
		return err
	}
	r.interp = ir
	r.assigned = map[string]bool{}
	return nil
}

// Reset forgets shell state (variables, directory) between blocks.
func (r *Runner) Reset() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reset()
}

// Run runs one runbook command as written, after filling its placeholders.
func (r *Runner) Run(ctx context.Context, cmd runbook.Command) Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Outcome{Command: cmd, Line: cmd.Line, Text: runbook.OneLine(cmd.Text)}
	text, err := r.cfg.Table.Fill(cmd.Text)
	if err != nil {
		out.Status, out.Reason = Refused, err.Error()
		return out
	}
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(text), "")
	if err != nil {
		out.Status, out.Reason = Failed, "does not parse as shell: "+err.Error()
		return out
	}
	if unknown := r.cfg.Table.unknownVars(file, r.assigned); len(unknown) > 0 {
		out.Status = Refused
		out.Reason = fmt.Sprintf("expands $%s, which is not in firedrill's table (%s): it would run with an empty value",
			strings.Join(unknown, ", $"), r.cfg.Table.known())
		return out
	}
	for _, name := range assignments(file) {
		r.assigned[name] = true
	}
	r.refusal, r.skipped, r.written, r.dryRun = "", "", nil, false
	r.stdout.reset()
	r.stderr.reset()
	runCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	start := time.Now()
	err = r.interp.Run(runCtx, file)
	out.Duration = time.Since(start)
	out.Stdout = r.redactor.String(r.stdout.String())
	out.Stderr = r.redactor.String(r.stderr.String())
	out.Files, out.DryRun = r.written, r.dryRun
	status, isExit := interp.IsExitStatus(err)
	switch {
	case r.refusal != "":
		out.Status, out.Reason, out.ExitCode = Refused, r.redactor.String(r.refusal), int(status)
	case r.skipped != "":
		out.Status, out.Reason = Skipped, r.redactor.String(r.skipped)
	case runCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
		out.Status, out.ExitCode = TimedOut, -1
		out.Reason = fmt.Sprintf("still running after %s", r.cfg.Timeout)
	case err == nil:
		out.Status = Succeeded
	case isExit:
		out.Status, out.ExitCode = Failed, int(status)
		out.Reason = fmt.Sprintf("exit status %d", status)
	default:
		out.Status, out.ExitCode = Failed, -1
		out.Reason = r.redactor.String(err.Error())
	}
	if r.interp.Exited() {
		// "exit" in a runbook block ends the shell, as it would a terminal.
		_ = r.reset()
	}
	return out
}

// refuse stops the current command with a reason.
func (r *Runner) refuse(format string, args ...any) error {
	if r.refusal == "" {
		r.refusal = fmt.Sprintf(format, args...)
	}
	return interp.ExitStatus(126)
}

// open maps redirections into the scratch directory: /tmp/x and relative paths are allowed,
// /dev/null, stdin and stdout too; any other absolute path is refused.
func (r *Runner) open(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	if path == "/dev/null" {
		return interp.DefaultOpenHandler()(ctx, path, flag, perm)
	}
	target, err := r.scratchPath(ctx, path)
	if err != nil {
		return nil, err
	}
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND) != 0 {
		r.written = append(r.written, strings.TrimPrefix(target, r.cfg.Scratch+string(filepath.Separator)))
	}
	return os.OpenFile(target, flag, perm)
}

// scratchPath resolves a path a command names into the scratch directory.
func (r *Runner) scratchPath(ctx context.Context, path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(interp.HandlerCtx(ctx).Dir, path)
	}
	path = filepath.Clean(path)
	switch {
	case path == r.cfg.Scratch || strings.HasPrefix(path, r.cfg.Scratch+string(filepath.Separator)):
		return path, nil
	case path == "/tmp" || strings.HasPrefix(path, "/tmp/"):
		return filepath.Join(r.cfg.Scratch, "tmp", strings.TrimPrefix(path, "/tmp")), os.MkdirAll(filepath.Join(r.cfg.Scratch, "tmp"), 0o700)
	}
	return "", r.refuse("writes %s, outside the drill's scratch directory", path)
}

// capture is the shell's standard output or error: one writer for the life of the interpreter
// (its subshells keep it), emptied before each command. Pipeline stages write concurrently.
type capture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *capture) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Reset()
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
