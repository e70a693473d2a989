package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/shell"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// LiteralWindow bounds how long an option run as written gets to show its effect: the runbook's
// commands do not wait for rollouts, so the effect is watched for, not read once.
const LiteralWindow = 2 * time.Minute

// literalRun is the journaled undo of what an option run as written changed.
type literalRun struct {
	undos []journaled
}

type journaled struct {
	seq  int
	undo Undo
	// rolledOut: the workload was fully rolled out before the option, so its restore is waited for
	// until it is again; a broken rollout put back is only waited for until its controller sees it.
	rolledOut bool
}

// resourceByKind maps the resource words runbooks use to what the journal can restore.
var resourceByKind = map[string]schema.GroupVersionResource{
	"deployment": Deployments, "deployments": Deployments, "deploy": Deployments,
	"statefulset": StatefulSets, "statefulsets": StatefulSets, "sts": StatefulSets,
	"configmap": ConfigMaps, "configmaps": ConfigMaps, "cm": ConfigMaps,
	"pvc": PVCs, "persistentvolumeclaim": PVCs, "persistentvolumeclaims": PVCs,
}

// PVCs are PersistentVolumeClaims.
var PVCs = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}

// runAsWritten runs an option's own commands exactly as the runbook has them, after journaling a
// snapshot of every object they change, then watches for the Go step's verified effect. It returns
// the effect when the runbook's commands achieved it. When they fail, or succeed without the
// effect, it records a runbook finding, puts the objects back and returns ok=false: the Go step
// then restores service.
func (d *Drill) runAsWritten(ctx context.Context, opt Option, model runbook.Option) (effect string, run *literalRun, status string, err error) {
	if len(model.Steps) == 0 {
		return "", nil, "no command to run as written (the option is prose only)", nil
	}
	run = &literalRun{}
	seen := map[string]bool{}
	for _, c := range model.Steps {
		for _, call := range c.Calls {
			if call.Name() != "kubectl" {
				continue
			}
			targets, ok := shell.Targets(kubectlArgs(call))
			if !ok {
				return "", nil, fmt.Sprintf("not run as written: line %d changes objects it does not name, so no undo can be journaled", c.Line), nil
			}
			for _, t := range targets {
				kind, name, _ := strings.Cut(t, "/")
				gvr, known := resourceByKind[strings.ToLower(kind)]
				if !known {
					return "", nil, fmt.Sprintf("not run as written: line %d changes a %s, which the undo journal cannot restore", c.Line, kind), nil
				}
				if seen[t] {
					continue
				}
				seen[t] = true
				undo, err := d.RestoreUndo(ctx, gvr, name, fmt.Sprintf("restore %s after option %s run as written", t, opt.Letter))
				if err != nil {
					// The object does not exist: the command will fail and say so.
					continue
				}
				rolledOut := false
				if gvr == Deployments || gvr == StatefulSets {
					if rolledOut, err = d.Cluster.RolledOut(ctx, gvr, d.Namespace, name); err != nil {
						return "", nil, "", err
					}
				}
				seq, err := d.Journal.Record(undo)
				if err != nil {
					return "", nil, "", err
				}
				run.undos = append(run.undos, journaled{seq: seq, undo: undo, rolledOut: rolledOut})
			}
		}
	}
	if opt.Prepare != nil {
		if err := opt.Prepare(ctx, d); err != nil {
			return "", run, "", err
		}
	}
	if err := d.shell.Reset(); err != nil {
		return "", run, "", err
	}
	failed := false
	for _, c := range model.Steps {
		out := d.shell.Run(ctx, c)
		d.step++
		title := fmt.Sprintf("option %s as written, runbook line %d", opt.Letter, c.Line)
		if _, err := d.pack.AddDiagnosis(d.step, title, out.Text, literalOutput(out, d.scratch)); err != nil {
			return "", run, "", err
		}
		if changes(c) {
			d.recordChange(fmt.Sprintf("runbook line %d as written: %s", c.Line, out.Text), "namespace/"+d.Namespace, "firedrill/"+d.ID+" (runbook command)")
		}
		d.literal("option "+opt.Letter+" as written", out)
		if !out.OK() {
			failed = true
			break
		}
	}
	if ctx.Err() != nil {
		return "", run, "", ctx.Err()
	}
	if !failed {
		verifyCtx, cancel := context.WithTimeout(ctx, LiteralWindow)
		var verifyErr error
		effect, err := Until(verifyCtx, func(ctx context.Context) (string, bool, error) {
			e, err := opt.Verify(ctx, d)
			verifyErr = err
			return e, err == nil, nil
		})
		cancel()
		if err == nil {
			return effect, run, "verified", nil
		}
		if verifyErr == nil {
			verifyErr = err
		}
		d.addFinding(model.Steps[0].Line, model.Steps[0].Text, "option "+opt.Letter+" as written",
			fmt.Sprintf("option %s ran as written without its effect within %s: %v", opt.Letter, LiteralWindow, verifyErr))
	}
	// Put back what the runbook's commands changed, so the Go step starts from the same state.
	if err := d.undoLiteral(ctx, run); err != nil {
		return "", nil, "", err
	}
	return "", nil, "failed as written; the Go step was run instead", nil
}

// undoLiteral restores every object an option run as written changed, and waits for workloads to
// be back where they were: rolled out, or (a broken release) seen by their controller.
func (d *Drill) undoLiteral(ctx context.Context, run *literalRun) error {
	if run == nil {
		return nil
	}
	var errs []error
	for i := len(run.undos) - 1; i >= 0; i-- {
		u := run.undos[i]
		if err := d.Revert(ctx, u.seq, u.undo); err != nil {
			errs = append(errs, err)
			continue
		}
		gvr := u.undo.gvr()
		switch {
		case gvr != Deployments && gvr != StatefulSets:
		case u.rolledOut:
			if err := d.WaitRollout(ctx, gvr, u.undo.Name); err != nil {
				errs = append(errs, err)
			}
		default:
			if err := d.Cluster.WaitObserved(ctx, gvr, d.Namespace, u.undo.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// changes reports whether a runbook command changes anything in the cluster.
func changes(c runbook.Command) bool {
	for _, call := range c.Calls {
		if call.Name() == "kubectl" && shell.Mutating(kubectlArgs(call)) {
			return true
		}
	}
	return false
}

// kubectlArgs are a kubectl call's arguments as written, without "kubectl".
func kubectlArgs(call runbook.Call) []string {
	var args []string
	for _, w := range call.Args[1:] {
		args = append(args, w.Lit)
	}
	return args
}

func validateFinding(line int, command, where, reason string) validate.Finding {
	return validate.Finding{Level: validate.Error, Check: "live-no-effect", Line: line, Where: where,
		Command: runbook.OneLine(command), Reason: reason}
}

func (d *Drill) addFinding(line int, command, where, reason string) {
	d.mu.Lock()
	d.findings = append(d.findings, validateFinding(line, command, d.Scenario.Name+", "+where, reason))
	d.mu.Unlock()
	d.Note("runbook finding", fmt.Sprintf("line %d: %s", line, reason))
}

func (d *Drill) recordChange(what, resource, by string) {
	d.mu.Lock()
	d.changes = append(d.changes, Change{At: time.Now().UTC(), Phase: d.phase, Option: d.option, What: what, Resource: resource, By: by})
	d.mu.Unlock()
}
