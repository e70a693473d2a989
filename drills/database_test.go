package drills

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/scenarios/database"
)

var _ = Describe("Database connection issues", Ordered, labelsFor("database"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		cfg := drillConfig(database.Scenario{})
		cfg.Exhaustive = true // Option C runs after B restored service, so it is exercised too.
		var err error
		res, err = drill.Run(ctx, cfg)
		recordResult(res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("sees the frontend fail to connect", func() {
		Expect(res.Symptoms[1]).To(ContainSubstring("cannot connect to database"))
	})

	It("does not restart Postgres unasked: option A is a last resort", Label("option:A"), func() {
		Expect(optionResult(res, "A").Skipped).To(ContainSubstring("LAST RESORT"))
	})

	It("terminates the leaked idle sessions with option B and recovers", Label("option:B"), func() {
		b := optionResult(res, "B")
		Expect(b.Effect).To(MatchRegexp(`[1-9]\d* leaked idle sessions terminated, 0 left`))
		Expect(b.Effect).To(ContainSubstring("canary row committed before the fault survived"))
		Expect(b.Recovered).To(BeTrue())
	})

	It("scales the frontend down and back up with option C", Label("option:C"), func() {
		Expect(optionResult(res, "C").Effect).To(ContainSubstring("scaled to 1 and back to 3"))
	})

	It("stores the output of the runbook's own diagnosis and evidence commands, run as written", func() {
		expectRunbookCommandsInPack(res)
	})

	It("leaves the stack exactly at its baseline", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})

var _ = Describe("Database connection issues, last resort", Ordered, labelsFor("database"), Label("last-resort"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		cfg := drillConfig(database.Scenario{})
		cfg.AllowLastResort = true
		cfg.Options = []string{"A"}
		var err error
		res, err = drill.Run(ctx, cfg)
		recordResult(res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("restarts Postgres with option A and loses no committed row", Label("option:A"), func() {
		a := optionResult(res, "A")
		Expect(a.Effect).To(ContainSubstring("canary row committed before the fault survived"))
	})

	It("leaves the stack exactly at its baseline", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})
