package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const twoContexts = `apiVersion: v1
kind: Config
current-context: production
clusters:
- name: prod
  cluster: {server: "https://127.0.0.1:6443"}
- name: stage
  cluster: {server: "https://127.0.0.1:7443"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: production
  context: {cluster: prod, user: u}
- name: staging
  context: {cluster: stage, user: u}
`

// The harness must never drill on a context nobody allowed, least of all the user's current one.
func TestConnectExistingRefusesContextsNotAllowed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     ExistingConfig
		refused bool
		server  string
	}{
		{"current context, nothing allowed", ExistingConfig{Kubeconfig: path}, true, ""},
		{"current context, another allowed", ExistingConfig{Kubeconfig: path, Allowed: []string{"staging"}}, true, ""},
		{"named context not allowed", ExistingConfig{Kubeconfig: path, Context: "production", Allowed: []string{"staging"}}, true, ""},
		{"named context allowed", ExistingConfig{Kubeconfig: path, Context: "staging", Allowed: []string{"staging"}}, false, "https://127.0.0.1:7443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ConnectExisting(c.cfg)
			if c.refused {
				if !errors.Is(err, ErrContextNotAllowed) {
					t.Fatalf("err = %v, want ErrContextNotAllowed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.REST.Host != c.server {
				t.Errorf("connected to %s, want %s", got.REST.Host, c.server)
			}
			if _, err := got.Nodes(); !errors.Is(err, ErrNotKind) {
				t.Errorf("node access on an existing cluster: err = %v, want ErrNotKind", err)
			}
		})
	}
}

func TestConnectExistingNeedsAnExplicitKubeconfig(t *testing.T) {
	t.Parallel()
	if _, err := ConnectExisting(ExistingConfig{Allowed: []string{"x"}}); err == nil {
		t.Fatal("connected without a kubeconfig path: the user's ~/.kube/config must never be used unasked")
	}
}
