package drills

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/scenarios/ratelimit"
)

var _ = Describe("Rate limiting false positives", Ordered, labelsFor("ratelimit"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		cfg := drillConfig(ratelimit.Scenario{})
		cfg.Exhaustive = true      // B and C run after A restored service, so each is exercised.
		cfg.AllowLastResort = true // C disables rate limiting: drilled, then re-enabled.
		var err error
		res, err = drill.Run(ctx, cfg)
		recordResult(res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("sees legitimate users rejected with 429", func() {
		Expect(res.Symptoms[0]).To(MatchRegexp(`[1-9]\d*/15 queries of a legitimate burst rejected`))
	})

	It("raises the limits under approval with option A", Label("option:A"), func() {
		a := optionResult(res, "A")
		Expect(a.Effect).To(ContainSubstring("legitimate burst of 15 passes"))
		Expect(a.Recovered).To(BeTrue())
		Expect(res.Drill.Approvals()).To(ContainElement(HaveField("Option", "A")))
	})

	It("clears one user's counters through the application with option B", Label("option:B"), func() {
		Expect(optionResult(res, "B").Effect).To(ContainSubstring("cleared through the application"))
	})

	It("disables rate limiting with option C, then re-enables it", Label("option:C"), func() {
		c := optionResult(res, "C")
		Expect(c.Effect).To(ContainSubstring("abusive burst of 40 passes"))
		Expect(c.Reverted).To(BeTrue())
	})

	It("still limits an abusive client after the fix", func() {
		Expect(res.Drill.Events()).To(ContainElement(HaveField("Detail", MatchRegexp(`abusive burst: [1-9]\d*/40 rejected`))))
	})

	It("stores the output of the runbook's own diagnosis and evidence commands, run as written", func() {
		expectRunbookCommandsInPack(res)
	})

	It("leaves the stack exactly at its baseline", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})
