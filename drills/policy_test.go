package drills

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/scenarios/policy"
)

var _ = Describe("Policy engine failure", Ordered, labelsFor("policy"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		var err error
		res, err = drill.Run(ctx, drillConfig(policy.Scenario{}))
		AddReportEntry("drill", res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("observes every symptom the runbook lists", func() {
		Expect(res.Symptoms).To(HaveLen(3))
		Expect(res.Symptoms[0]).To(ContainSubstring("refused with \"Policy check failed\""))
	})

	It("runs option A under approval, verifies the bypass and reverts it", Label("option:A"), func() {
		a := optionResult(res, "A")
		Expect(a.Ran).To(BeTrue())
		Expect(a.Effect).To(ContainSubstring("approver"))
		Expect(a.Reverted).To(BeTrue())
		Expect(res.Drill.Approvals()).To(ContainElement(HaveField("Option", "A")))
	})

	It("flushes the policy cache with option B and names what else it flushed", Label("option:B"), func() {
		b := optionResult(res, "B")
		Expect(b.Ran).To(BeTrue())
		Expect(b.Effect).To(ContainSubstring("rate-limit counters"))
		Expect(b.Recovered).To(BeFalse(), "a flush cannot fix rules held in memory")
	})

	It("recovers by reloading the policies with option C", Label("option:C"), func() {
		c := optionResult(res, "C")
		Expect(c.Effect).To(ContainSubstring("replaced"))
		Expect(c.Recovered).To(BeTrue())
		Expect(res.Recovery.OK()).To(BeTrue())
	})

	It("leaves the stack exactly at its baseline", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})

func optionResult(res drill.Result, letter string) drill.OptionResult {
	for _, o := range res.Options {
		if o.Letter == letter {
			return o
		}
	}
	Fail("option " + letter + " did not run")
	return drill.OptionResult{}
}
