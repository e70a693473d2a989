// Package seed gives tests the seed runbook, parsed with its scenario config, as the CLI loads it.
package seed

import (
	"testing"

	"github.com/firedrill-dev/firedrill/fixtures"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// Runbook returns the seed runbook's bytes and its model; any failure fails the test.
func Runbook(t testing.TB) ([]byte, *runbook.Runbook) {
	t.Helper()
	src, err := fixtures.Runbooks.ReadFile(fixtures.IncidentResponse)
	if err != nil {
		t.Fatal(err)
	}
	cfgSrc, err := fixtures.Runbooks.ReadFile(fixtures.IncidentResponseConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := runbook.ParseConfig(cfgSrc, fixtures.IncidentResponseConfig)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Parse(src, runbook.WithPath(fixtures.IncidentResponse), runbook.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return src, rb
}
