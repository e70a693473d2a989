package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrContextNotAllowed means the kube context was not explicitly allowed for drills.
var ErrContextNotAllowed = errors.New("kube context not allowed for drills")

// ExistingConfig points the harness at a cluster it did not create (staging). Drills there act
// only in the drill namespace, and only on a context named in Allowed.
type ExistingConfig struct {
	// Kubeconfig is the file to read; it is never written.
	Kubeconfig string
	// Context is the context to use; empty means the file's current context.
	Context string
	// Allowed lists the contexts drills may act on.
	Allowed []string
}

// ConnectExisting returns clients for an existing cluster after checking the context is allowed.
func ConnectExisting(cfg ExistingConfig) (*Cluster, error) {
	if cfg.Kubeconfig == "" {
		return nil, errors.New("an explicit --kubeconfig is required for an existing cluster")
	}
	raw, err := clientcmd.LoadFromFile(cfg.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig %s: %w", cfg.Kubeconfig, err)
	}
	context := cfg.Context
	if context == "" {
		context = raw.CurrentContext
	}
	if _, ok := raw.Contexts[context]; !ok || context == "" {
		return nil, fmt.Errorf("kubeconfig %s has no context %q", cfg.Kubeconfig, context)
	}
	if !slices.Contains(cfg.Allowed, context) {
		allowed := "none"
		if len(cfg.Allowed) > 0 {
			allowed = strings.Join(cfg.Allowed, ", ")
		}
		return nil, fmt.Errorf("%w: %q (allowed: %s); allow it explicitly with --allow-context %s", ErrContextNotAllowed, context, allowed, context)
	}
	restCfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kube context %s: %w", context, err)
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{Name: context, Kubeconfig: cfg.Kubeconfig, Context: context, REST: restCfg, Clientset: cs, Dynamic: dyn}, nil
}
