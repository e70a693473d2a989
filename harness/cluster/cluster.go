// Package cluster creates, reuses and deletes the kind cluster drills run on, with kind as a
// library and an explicit kubeconfig file that never touches the user's ~/.kube/config.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/firedrill-dev/firedrill/harness/internal/kindlog"
)

// DefaultName is the kind cluster firedrill creates unless told otherwise.
const DefaultName = "firedrill"

// ErrNotFound means the named kind cluster does not exist.
var ErrNotFound = errors.New("cluster not found")

// Config names the cluster and where its files go.
type Config struct {
	Name string
	// Kubeconfig is the file firedrill writes the cluster's credentials to.
	Kubeconfig string
	// NodeImage is the kind node image to create nodes from.
	NodeImage string
	Log       logr.Logger
}

// Cluster is a running kind cluster with clients for it.
type Cluster struct {
	Name       string
	Kubeconfig string
	// Context is the kubeconfig context to use; empty means the file's current context.
	Context   string
	REST      *rest.Config
	Clientset kubernetes.Interface
	Dynamic   dynamic.Interface
	provider  *kindcluster.Provider
	log       logr.Logger
}

func newProvider(log logr.Logger) *kindcluster.Provider {
	return kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindlog.Logger{Log: log.V(1)}))
}

// Up creates the cluster, or reuses it when it already runs from the same node image.
func Up(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Kubeconfig == "" {
		return nil, errors.New("cluster: an explicit kubeconfig path is required")
	}
	abs, err := filepath.Abs(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Kubeconfig = abs
	provider := newProvider(cfg.Log)
	existing, err := provider.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	if slices.Contains(existing, cfg.Name) {
		image, running, err := nodeState(ctx, cfg.Name)
		if err != nil {
			return nil, err
		}
		if running && (image == cfg.NodeImage || cfg.NodeImage == "") {
			cfg.Log.Info("reusing cluster", "cluster", cfg.Name, "nodeImage", image)
			if err := provider.ExportKubeConfig(cfg.Name, cfg.Kubeconfig, false); err != nil {
				return nil, fmt.Errorf("export kubeconfig of %s: %w", cfg.Name, err)
			}
			return connect(cfg, provider)
		}
		cfg.Log.Info("recreating cluster: node image changed or node stopped", "cluster", cfg.Name, "had", image, "want", cfg.NodeImage, "running", running)
		if err := provider.Delete(cfg.Name, cfg.Kubeconfig); err != nil {
			return nil, fmt.Errorf("delete %s: %w", cfg.Name, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Kubeconfig), 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	cfg.Log.Info("creating kind cluster", "cluster", cfg.Name, "nodeImage", cfg.NodeImage)
	err = provider.Create(cfg.Name,
		kindcluster.CreateWithNodeImage(cfg.NodeImage),
		kindcluster.CreateWithKubeconfigPath(cfg.Kubeconfig),
		kindcluster.CreateWithWaitForReady(3*time.Minute),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return nil, fmt.Errorf("create kind cluster %s: %w", cfg.Name, err)
	}
	cfg.Log.Info("cluster created", "cluster", cfg.Name, "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	return connect(cfg, provider)
}

// Connect returns clients for an existing firedrill cluster without changing it.
func Connect(cfg Config) (*Cluster, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	provider := newProvider(cfg.Log)
	existing, err := provider.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	if !slices.Contains(existing, cfg.Name) {
		return nil, fmt.Errorf("kind cluster %q: %w (run 'make cluster-up')", cfg.Name, ErrNotFound)
	}
	if err := provider.ExportKubeConfig(cfg.Name, cfg.Kubeconfig, false); err != nil {
		return nil, fmt.Errorf("export kubeconfig of %s: %w", cfg.Name, err)
	}
	return connect(cfg, provider)
}

func connect(cfg Config, provider *kindcluster.Provider) (*Cluster, error) {
	restCfg, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", cfg.Kubeconfig, err)
	}
	// The drill cluster is the harness's own; the API server's priority and fairness is enough.
	restCfg.QPS = -1
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{
		Name: cfg.Name, Kubeconfig: cfg.Kubeconfig, REST: restCfg, Clientset: cs, Dynamic: dyn,
		provider: provider, log: cfg.Log,
	}, nil
}

// Delete removes the cluster and its kubeconfig entry; a missing cluster is not an error.
func Delete(cfg Config) error {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	provider := newProvider(cfg.Log)
	if err := provider.Delete(cfg.Name, cfg.Kubeconfig); err != nil {
		return fmt.Errorf("delete kind cluster %s: %w", cfg.Name, err)
	}
	if cfg.Kubeconfig != "" {
		if err := os.Remove(cfg.Kubeconfig); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// ErrNotKind means the operation needs a kind cluster firedrill created (node access).
var ErrNotKind = errors.New("not a kind cluster created by firedrill: node access is not available")

// ExportLogs writes kind's node logs (journal, containers, kubelet) to dir.
func (c *Cluster) ExportLogs(dir string) error {
	if c.provider == nil {
		return ErrNotKind
	}
	return c.provider.CollectLogs(c.Name, dir)
}

// Nodes lists the cluster's node containers.
func (c *Cluster) Nodes() ([]nodes.Node, error) {
	if c.provider == nil {
		return nil, ErrNotKind
	}
	return c.provider.ListInternalNodes(c.Name)
}

// NodeShell runs a shell script as root in every node.
func (c *Cluster) NodeShell(ctx context.Context, script string) error {
	all, err := c.Nodes()
	if err != nil {
		return err
	}
	for _, n := range all {
		var out bytes.Buffer
		if err := n.CommandContext(ctx, "sh", "-c", script).SetStdout(&out).SetStderr(&out).Run(); err != nil {
			return fmt.Errorf("node %s: %w: %s", n.String(), err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// LoadImages copies images from the local docker store into every node, skipping those present.
func (c *Cluster) LoadImages(ctx context.Context, images ...string) error {
	all, err := c.Nodes()
	if err != nil {
		return err
	}
	for _, image := range images {
		for _, n := range all {
			if id, err := nodeutils.ImageID(n, image); err == nil && id != "" {
				continue
			}
			start := time.Now()
			if err := loadImage(ctx, n, image); err != nil {
				return fmt.Errorf("load %s into %s: %w", image, n.String(), err)
			}
			c.log.Info("image loaded", "image", image, "node", n.String(), "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
		}
	}
	return nil
}

func loadImage(ctx context.Context, n nodes.Node, image string) error {
	save := exec.CommandContext(ctx, "docker", "save", image)
	out, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	save.Stderr = &stderr
	if err := save.Start(); err != nil {
		return err
	}
	loadErr := nodeutils.LoadImageArchive(n, out)
	if err := save.Wait(); err != nil {
		return fmt.Errorf("docker save: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return loadErr
}

// nodeState returns the image the cluster's control-plane container runs and whether it runs
// (after a reboot or a docker restart the container exists but is stopped).
func nodeState(ctx context.Context, name string) (string, bool, error) {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.Config.Image}} {{.State.Running}}", name+"-control-plane").Output()
	if err != nil {
		return "", false, fmt.Errorf("inspect %s-control-plane: %w", name, err)
	}
	image, running, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return image, running == "true", nil
}
