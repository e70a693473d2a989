// Command firedrill-bench measures the harness side by side with the bare tools on this machine:
// cluster + stack through the harness vs a bare kind create + kubectl apply, every drill's phase
// times on one reused cluster, the harness's detection latency vs a 5-second polling loop, and the
// harness's peak memory. `make bench` runs it; it prints a Markdown table (and writes it to --out).
// It deletes and recreates the drill cluster: run it when nothing else uses the cluster.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"sigs.k8s.io/yaml"

	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/images"
	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/stack"
	"github.com/firedrill-dev/firedrill/scenarios/all"
)

// pollEvery is the naive monitor the harness's detection is compared with.
const pollEvery = 5 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-kubectl" {
		// The bare path's kubectl: kubectl's own command tree, as a separate process.
		cmd := kubectlcmd.NewDefaultKubectlCommand()
		cmd.SetArgs(os.Args[2:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
		return
	}
	repo := flag.String("repo", ".", "the firedrill checkout")
	workDir := flag.String("work-dir", ".work", "firedrill's work directory")
	rbPath := flag.String("runbook", "fixtures/runbooks/incident-response.md", "the runbook")
	out := flag.String("out", "artifacts/bench.md", "where the Markdown table goes too")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{})
	table, err := run(ctx, *repo, *workDir, *rbPath, log)
	fmt.Print(table)
	if table != "" {
		if werr := os.MkdirAll(filepath.Dir(*out), 0o755); werr == nil {
			_ = os.WriteFile(*out, []byte(table), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "firedrill-bench:", err)
		os.Exit(1)
	}
}

type row struct{ what, value string }

func run(ctx context.Context, repo, workDir, rbPath string, log logr.Logger) (string, error) {
	var rows []row
	add := func(what, format string, args ...any) { rows = append(rows, row{what, fmt.Sprintf(format, args...)}) }
	built, err := images.ReadResult(filepath.Join(workDir, "images.json"))
	if err != nil {
		return "", err
	}
	var refs []string
	for _, r := range built.Stack {
		refs = append(refs, r)
	}
	sort.Strings(refs)

	// 1. Cluster + stack ready: the harness, then the bare tools, one after the other.
	cfg := cluster.Config{Name: cluster.DefaultName, Kubeconfig: filepath.Join(workDir, "kubeconfig"), NodeImage: built.NodeImage, Log: log.V(1)}
	if err := cluster.Delete(cfg); err != nil {
		return "", err
	}
	start := time.Now()
	c, err := cluster.Up(ctx, cfg)
	if err != nil {
		return "", err
	}
	if err := stack.Deploy(ctx, c, stack.Config{RepoRoot: repo, Images: refs, Manifests: built.Manifests, Log: log}); err != nil {
		return "", err
	}
	harness := time.Since(start)
	bare, err := bareClusterAndStack(ctx, repo, workDir, built, refs)
	if err != nil {
		return "", fmt.Errorf("bare kind + kubectl: %w", err)
	}
	add("cluster + stack ready: harness (`cluster.Up` + `stack.Deploy`: waits for real rollout, tmpfs evidence volume)", "%s", harness.Round(time.Second))
	add("cluster + stack ready: bare `kind create cluster` + image load + `kubectl apply` + `kubectl rollout status`", "%s", bare.Round(time.Second))
	add("ratio harness / bare", "%.2f", harness.Seconds()/bare.Seconds())

	// 2. Every drill on the reused cluster, with a 5-second poller watching beside the harness.
	rb, err := runbook.Load(rbPath, runbook.WithConfigFile(runbook.ConfigPathFor(rbPath)))
	if err != nil {
		return "", err
	}
	suite := time.Now()
	for _, name := range all.Names {
		scenario, _ := all.ByName(name, filepath.Join(repo, "artifacts", "bench"))
		res, poll, err := drillWithPoller(ctx, c, rb, scenario, repo, workDir, log)
		if err != nil {
			return table(rows), fmt.Errorf("%s drill: %w", name, err)
		}
		var phases []string
		for _, p := range []string{drill.PhaseBaseline, drill.PhaseInject, drill.PhaseDetect, drill.PhaseDiagnose, drill.PhaseMitigate, drill.PhaseRecover, drill.PhaseEvidence, drill.PhaseCleanup} {
			phases = append(phases, fmt.Sprintf("%s %s", p, res.Phases[p].Round(100*time.Millisecond)))
		}
		add(name+" drill phases", "%s; total %s", strings.Join(phases, ", "), res.Finished.Sub(res.Started).Round(time.Second))
		harnessSaw := res.DetectedAt.Sub(res.InjectedAt).Round(100 * time.Millisecond)
		pollSaw := "never noticed (the symptom is not a failed health check)"
		if !poll.IsZero() {
			pollSaw = poll.Sub(res.InjectedAt).Round(100 * time.Millisecond).String()
		}
		add(name+" detection: harness (every symptom observed) / 5 s health poller (first failed check)", "%s / %s", harnessSaw, pollSaw)
	}
	add("five-drill suite on the reused cluster", "%s", time.Since(suite).Round(time.Second))
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		add("peak memory of the harness process (max RSS)", "%d MiB", ru.Maxrss/1024)
	}
	return table(rows), nil
}

func table(rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| measured %s | value |\n|---|---|\n", time.Now().UTC().Format("2006-01-02"))
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r.what, r.value)
	}
	return b.String()
}

// drillWithPoller runs one drill while a naive monitor checks /health every 5 seconds and notes
// when it first fails after the fault.
func drillWithPoller(ctx context.Context, c *cluster.Cluster, rb *runbook.Runbook, s drill.Scenario, repo, workDir string, log logr.Logger) (drill.Result, time.Time, error) {
	pollCtx, cancel := context.WithCancel(ctx)
	var (
		mu       sync.Mutex
		firstBad time.Time
		injected time.Time
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-tick.C:
			}
			res, err := c.ProxyHTTP(pollCtx, stack.Namespace, "services", "aureus-frontend:5000", "GET", "/health", nil, nil)
			mu.Lock()
			if !injected.IsZero() && firstBad.IsZero() && (err != nil || res.Status != 200) {
				firstBad = time.Now()
			}
			mu.Unlock()
		}
	}()
	res, err := drill.Run(ctx, drill.Config{
		Cluster: c, Runbook: rb, Scenario: s, WorkDir: workDir, EvidenceRoot: filepath.Join(repo, "artifacts", "bench", "evidence"),
		Commander: "firedrill-bench", Approver: &drill.Approval{Who: "firedrill-bench", Role: "benchmark", Why: "benchmark"},
		Literal: true, Log: log.V(1),
		Progress: func(ev drill.Event) {
			if ev.Phase == drill.PhaseInject && ev.What == "injecting fault" {
				mu.Lock()
				injected = time.Now()
				mu.Unlock()
			}
		},
	})
	mu.Lock()
	seen := firstBad
	if !seen.IsZero() && !res.RecoveredAt.IsZero() && seen.After(res.RecoveredAt) {
		seen = time.Time{}
	}
	mu.Unlock()
	cancel()
	<-done
	return res, seen, err
}

// bareClusterAndStack does by hand what a person without the harness would: kind create, load the
// images into the node, kubectl apply the rendered stack, kubectl rollout status each workload.
func bareClusterAndStack(ctx context.Context, repo, workDir string, built images.Result, refs []string) (time.Duration, error) {
	const name = "firedrill-bare"
	kubeconfig, err := filepath.Abs(filepath.Join(workDir, "bare-kubeconfig"))
	if err != nil {
		return 0, err
	}
	provider := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	_ = provider.Delete(name, kubeconfig)
	defer func() { _ = provider.Delete(name, kubeconfig) }()
	objs, err := cluster.Render(filepath.Join(repo, built.Manifests), refs)
	if err != nil {
		return 0, err
	}
	var manifest bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return 0, err
		}
		manifest.WriteString("---\n")
		manifest.Write(data)
	}
	// The rendered stack holds the Secrets' values: it lives only as long as the apply needs it.
	manifestPath := filepath.Join(workDir, "bare-stack.yaml")
	if err := os.WriteFile(manifestPath, manifest.Bytes(), 0o600); err != nil {
		return 0, err
	}
	defer os.Remove(manifestPath)
	start := time.Now()
	if err := provider.Create(name, kindcluster.CreateWithNodeImage(built.NodeImage), kindcluster.CreateWithKubeconfigPath(kubeconfig),
		kindcluster.CreateWithWaitForReady(5*time.Minute)); err != nil {
		return 0, err
	}
	for _, ref := range refs {
		// kind load docker-image, by hand.
		load := exec.CommandContext(ctx, "sh", "-c", "docker save "+ref+" | docker exec -i "+name+"-control-plane ctr -n k8s.io images import --all-platforms -")
		if out, err := load.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("load %s: %v: %s", ref, err, out)
		}
	}
	// The evidence PV's hostPath must exist on the node, as the harness makes it.
	if out, err := exec.CommandContext(ctx, "docker", "exec", name+"-control-plane", "mkdir", "-p", stack.EvidenceNodePath).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("evidence dir: %v: %s", err, out)
	}
	kubectl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-kubectl", "--kubeconfig", kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := kubectl("apply", "-f", manifestPath); err != nil {
		return 0, err
	}
	for _, w := range []string{"deployment/aureus-frontend", "statefulset/aureus-postgres", "deployment/aureus-redis"} {
		if err := kubectl("rollout", "status", w, "-n", stack.Namespace, "--timeout=5m"); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
