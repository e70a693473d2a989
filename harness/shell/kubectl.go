package shell

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"mvdan.cc/sh/v3/interp"
)

// pinnedFlags choose the cluster or the identity; a runbook command may not set them.
var pinnedFlags = []string{
	"--kubeconfig", "--context", "--cluster", "--server", "-s", "--user", "--token", "--as", "--as-group",
	"--as-uid", "--username", "--password", "--certificate-authority", "--client-certificate", "--client-key",
	"--insecure-skip-tls-verify", "--tls-server-name",
}

// refusedVerbs change kubectl's own configuration, open a local listener or need a person.
var refusedVerbs = []string{"config", "proxy", "edit", "plugin", "attach", "debug", "port-forward", "cp", "delete", "drain", "cordon", "uncordon", "taint", "certificate", "kustomize", "completion"}

// kubectlFatal carries kubectl's fatal error out of cmdutil.CheckErr instead of os.Exit.
type kubectlFatal struct {
	msg  string
	code int
}

var fatalOnce sync.Once

// kubectl runs kubectl's own command tree in-process, pinned to the drill's cluster and namespace.
func (r *Runner) kubectl(ctx context.Context, args []string) error {
	if reason := r.guardKubectl(args); reason != "" {
		return r.refuse("%s", reason)
	}
	if r.cfg.DryRun && mutating(args) {
		switch reason := dryRunnable(args); {
		case reason == "":
			args = withDryRun(args)
		case existenceCheck(args) != nil:
			// No dry run, but the object it acts on can be shown to exist.
			args = existenceCheck(args)
		default:
			if r.skipped == "" {
				r.skipped = reason
			}
			return nil
		}
		r.dryRun = true
	}
	hc := interp.HandlerCtx(ctx)
	fatalOnce.Do(func() {
		// kubectl exits the process on a fatal error; in a library it must return instead.
		cmdutil.BehaviorOnFatal(func(msg string, code int) { panic(kubectlFatal{msg: msg, code: code}) })
	})
	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig = &r.cfg.Kubeconfig
	if r.cfg.Context != "" {
		flags.Context = &r.cfg.Context
	}
	namespace := r.cfg.Namespace
	flags.Namespace = &namespace
	// Some kubectl commands (rollout status, wait) watch on a context of their own and ignore ctx:
	// kubectl runs beside the shell, which stops waiting when ctx ends. Its later output is dropped.
	stdout, stderr := &detachable{w: hc.Stdout}, &detachable{w: hc.Stderr}
	done := make(chan int, 1)
	go func() { done <- executeKubectl(ctx, flags, args, hc.Stdin, stdout, stderr) }()
	var code int
	select {
	case code = <-done:
	case <-ctx.Done():
		stdout.detach()
		stderr.detach()
		return ctx.Err()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if code != 0 {
		return interp.ExitStatus(uint8(min(code, 255)))
	}
	return nil
}

// guardKubectl returns why a kubectl command line may not run in the drill, or "".
func (r *Runner) guardKubectl(args []string) string {
	before := args
	if i := slices.Index(args, "--"); i >= 0 {
		before = args[:i]
	}
	for i, a := range before {
		name, value, hasValue := strings.Cut(a, "=")
		switch {
		case slices.Contains(pinnedFlags, name):
			return fmt.Sprintf("sets %s: kubectl is pinned to the drill cluster", name)
		case name == "-A" || name == "--all-namespaces":
			return "acts in all namespaces; the drill may act only in namespace " + r.cfg.Namespace
		case name == "-n" || name == "--namespace" || (strings.HasPrefix(a, "-n") && !strings.HasPrefix(a, "--") && len(a) > 2):
			ns := value
			switch {
			case strings.HasPrefix(a, "-n") && a != "-n" && !strings.HasPrefix(a, "--"):
				ns = strings.TrimPrefix(strings.TrimPrefix(a, "-n"), "=")
			case !hasValue && i+1 < len(before):
				ns = before[i+1]
			}
			if ns != r.cfg.Namespace {
				return fmt.Sprintf("acts in namespace %q; the drill may act only in namespace %s", ns, r.cfg.Namespace)
			}
		}
	}
	if verb, _ := subcommand(before); slices.Contains(refusedVerbs, verb) {
		return fmt.Sprintf("runs kubectl %s, which the drill does not run", verb)
	}
	return ""
}

// positionals are kubectl's arguments before "--" that are neither flags nor flag values.
func positionals(args []string) []string {
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && slices.Contains(valueFlags, a) && i+1 < len(args) {
				i++
			}
			continue
		}
		words = append(words, a)
	}
	return words
}

// subcommand returns the first two words (e.g. "rollout", "restart"), "" where missing.
func subcommand(args []string) (string, string) {
	words := append(positionals(args), "", "")
	return words[0], words[1]
}

// existenceCheck turns "rollout restart|pause|resume TYPE/NAME" (no dry run in kubectl) into a get
// of the same object, so a live check still proves the object exists; nil for anything else.
func existenceCheck(args []string) []string {
	verb, sub := subcommand(args)
	if verb != "rollout" || (sub != "restart" && sub != "pause" && sub != "resume") {
		return nil
	}
	words := positionals(args)
	if len(words) <= 2 {
		return nil
	}
	return append(append([]string{"get"}, words[2:]...), "-o", "name")
}

// executeKubectl runs one kubectl command line and returns its exit code.
func executeKubectl(ctx context.Context, flags *genericclioptions.ConfigFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	root := kubectlcmd.NewKubectlCommand(kubectlcmd.KubectlOptions{
		Arguments:   append([]string{"kubectl"}, args...),
		ConfigFlags: flags,
		IOStreams:   genericiooptions.IOStreams{In: stdin, Out: stdout, ErrOut: stderr},
	})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(kubectlFatal)
			if !ok {
				panic(p)
			}
			if f.msg != "" {
				msg := f.msg
				if !strings.HasSuffix(msg, "\n") {
					msg += "\n"
				}
				_, _ = stderr.Write([]byte(msg))
			}
			code = max(f.code, 1)
		}
	}()
	if err := root.ExecuteContext(ctx); err != nil {
		_, _ = fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// detachable passes writes on until detach; after it, writes are dropped. detach does not wait
// for a write in progress (it may be blocked on a pipe nobody reads any more).
type detachable struct {
	w        io.Writer
	detached atomic.Bool
}

func (d *detachable) Write(p []byte) (int, error) {
	if d.detached.Load() {
		return len(p), nil
	}
	return d.w.Write(p)
}

func (d *detachable) detach() { d.detached.Store(true) }
