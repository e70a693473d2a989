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
		cfg := drillConfig(policy.Scenario{})
		cfg.Exhaustive = true // every option is exercised, also after service is back
		var err error
		res, err = drill.Run(ctx, cfg)
		recordResult(res)
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
		Expect(a.Recovered).To(BeTrue(), "queries pass under bypass")
		Expect(a.Reverted).To(BeTrue())
		Expect(res.Drill.Approvals()).To(ContainElement(HaveField("Option", "A")))
	})

	It("finds that reverting the bypass reloads the fixed rules: the revert rolls every pod", Label("option:A"), func() {
		Expect(optionResult(res, "A").RecoveredAfterRevert).To(BeTrue())
	})

	It("flushes the policy cache with option B and names what else it flushed", Label("option:B"), func() {
		b := optionResult(res, "B")
		Expect(b.Ran).To(BeTrue())
		Expect(b.Effect).To(MatchRegexp(`flushed \d+ policy decisions and, as a side effect, \d+ rate-limit counters`))
	})

	It("reloads the policies with option C, every pod replaced", Label("option:C"), func() {
		c := optionResult(res, "C")
		Expect(c.Effect).To(ContainSubstring("replaced and reloaded the rules"))
		Expect(c.Recovered).To(BeTrue())
		Expect(res.Recovery.OK()).To(BeTrue())
	})

	It("runs the runbook's own commands for each option first: A and C work as written, B's kubectl exec -l does not", func() {
		Expect(optionResult(res, "A").Literal).To(Equal("verified"))
		Expect(optionResult(res, "C").Literal).To(Equal("verified"))
		Expect(optionResult(res, "B").Literal).To(ContainSubstring("failed as written"))
		Expect(res.Findings).To(ContainElement(And(
			HaveField("Line", 246),
			HaveField("Reason", ContainSubstring("unknown shorthand flag: 'l'")),
			HaveField("Evidence", Not(BeEmpty())))))
	})

	It("writes a complete evidence pack and records the drill in the ledger", func() {
		Expect(res.EvidenceReport).NotTo(ContainSubstring("missing"))
		Expect(res.EvidenceDigest).NotTo(BeEmpty())
		Expect(res.LedgerSeq).To(BeNumerically(">", 0))
	})

	It("stores the output of the runbook's own diagnosis and evidence commands, run as written", func() {
		expectRunbookCommandsInPack(res)
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
