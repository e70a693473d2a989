// Package archtest enforces the direction of dependencies: drills -> scenarios -> harness, fixtures.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/firedrill-dev/firedrill"

// pkg is a package (or a test variant of one) with every package it depends on, transitively.
type pkg struct {
	path string
	deps []string
}

type rule struct {
	from   string   // packages under this import path (the path itself included)
	banned []string // may not depend on packages under these paths
	why    string
}

var rules = []rule{
	{module + "/harness", []string{"github.com/onsi/ginkgo", "github.com/onsi/gomega", module + "/scenarios", module + "/drills"},
		"harness is a plain library: only drills/ uses ginkgo and gomega, and nothing points back up"},
	{module + "/scenarios", []string{module + "/drills"}, "scenarios sit below drills"},
	{module + "/fixtures", []string{module + "/harness", module + "/scenarios", module + "/drills"}, "fixtures are data"},
	{"", []string{"k8s.io/kubernetes"}, "k8s.io/kubernetes is not a library: use client-go, kubectl's packages and kind"},
}

func under(path, prefix string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// violations lists every dependency that breaks a rule.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		// A test variant is listed as "path [path.test]" or "path_test [path.test]".
		base := strings.TrimSuffix(strings.Fields(p.path)[0], "_test")
		for _, r := range rules {
			if !under(base, r.from) {
				continue
			}
			for _, d := range p.deps {
				for _, b := range r.banned {
					if under(d, b) {
						out = append(out, p.path+" depends on "+d+": "+r.why)
					}
				}
			}
		}
	}
	return out
}

func TestViolationsFindsBadEdges(t *testing.T) {
	t.Parallel()
	got := violations([]pkg{
		{module + "/harness/ledger", []string{"fmt", "github.com/onsi/gomega/types"}},
		{module + "/harness/runbook_test [" + module + "/harness/runbook.test]", []string{module + "/drills"}},
		{module + "/scenarios/policy", []string{module + "/harness/drill", module + "/drills"}},
		{module + "/cmd/firedrill", []string{"k8s.io/kubernetes/pkg/api"}},
		{module + "/harness-extra", []string{"github.com/onsi/ginkgo/v2"}},                 // not under harness/
		{module + "/drills", []string{"github.com/onsi/ginkgo/v2", module + "/scenarios"}}, // allowed
		{module + "/cmd/firedrill", []string{"k8s.io/kubectl/pkg/cmd"}},                    // allowed
	})
	if len(got) != 4 {
		t.Fatalf("violations = %d:\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestDependencyDirection runs go list over the whole module, tests included.
func TestDependencyDirection(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-e", "-test", "-f", `{{.ImportPath}}|{{join .Deps " "}}|{{if .Error}}{{.Error}}{{end}}`, "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[2] != "" {
			t.Logf("go list: %s: %s", parts[0], parts[2])
		}
		pkgs = append(pkgs, pkg{path: parts[0], deps: strings.Fields(parts[1])})
	}
	if len(pkgs) == 0 || !hasPackage(pkgs, module+"/harness/runbook") {
		t.Fatalf("go list found no harness packages:\n%s", out)
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

func hasPackage(pkgs []pkg, path string) bool {
	for _, p := range pkgs {
		if p.path == path {
			return true
		}
	}
	return false
}
