// Package all names every scenario implementation by the runbook model's short name.
package all

import (
	"path/filepath"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/scenarios/database"
	"github.com/firedrill-dev/firedrill/scenarios/frontend"
	"github.com/firedrill-dev/firedrill/scenarios/policy"
	"github.com/firedrill-dev/firedrill/scenarios/ratelimit"
	"github.com/firedrill-dev/firedrill/scenarios/storage"
)

// Names are the scenarios in the runbook's order.
var Names = []string{"frontend", "database", "storage", "policy", "ratelimit"}

// ByName returns the scenario called name; artifacts is where scenarios keep files of their own
// (the storage drill's archive store).
func ByName(name, artifacts string) (drill.Scenario, bool) {
	switch name {
	case "frontend":
		return frontend.Scenario{}, true
	case "database":
		return database.Scenario{}, true
	case "storage":
		return storage.Scenario{ArchiveDir: filepath.Join(artifacts, "evidence-archive")}, true
	case "policy":
		return policy.Scenario{}, true
	case "ratelimit":
		return ratelimit.Scenario{}, true
	}
	return nil, false
}
