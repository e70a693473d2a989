package drills

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/scenarios/frontend"
)

var _ = Describe("Frontend application down", Ordered, labelsFor("frontend"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		var err error
		res, err = drill.Run(ctx, drillConfig(frontend.Scenario{}))
		recordResult(res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("observes a real outage through the Service", func() {
		Expect(res.Symptoms).To(HaveLen(3))
		Expect(res.Symptoms[1]).To(MatchRegexp(`Service answered 50[23]`))
	})

	It("restarts the pods with option A, all of them replaced", Label("option:A"), func() {
		a := optionResult(res, "A")
		Expect(a.Effect).To(ContainSubstring("replaced"))
		Expect(a.Recovered).To(BeFalse(), "a restart cannot fix a bad release")
	})

	It("scales up with option B", Label("option:B"), func() {
		b := optionResult(res, "B")
		Expect(b.Effect).To(ContainSubstring("wants 5 replicas, 5 pods exist"))
		Expect(b.Recovered).To(BeFalse())
	})

	It("recovers by rolling back with option C", Label("option:C"), func() {
		c := optionResult(res, "C")
		Expect(c.Effect).To(ContainSubstring("rollout complete"))
		Expect(c.Recovered).To(BeTrue())
	})

	It("stores the output of the runbook's own diagnosis and evidence commands, run as written", func() {
		expectRunbookCommandsInPack(res)
	})

	It("leaves the stack exactly at its baseline, replicas included", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})
