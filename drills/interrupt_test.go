package drills

import (
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/scenarios/frontend"
)

// An interrupted drill (Ctrl-C, SIGTERM, a failed assertion) must leave no fault behind.
var _ = Describe("A drill interrupted mid-fault", Ordered, Label("drill", "interrupt", "scenario:frontend"), func() {
	var (
		res    drill.Result
		runErr error
	)

	BeforeAll(func(ctx SpecContext) {
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		cfg := drillConfig(frontend.Scenario{})
		report := cfg.Progress
		cfg.Progress = func(ev drill.Event) {
			report(ev)
			// The bad release is live and every pod is down: interrupt now.
			if ev.Phase == drill.PhaseDetect && ev.What == "symptom observed" {
				cancel()
			}
		}
		res, runErr = drill.Run(runCtx, cfg)
		recordResult(res)
	})

	It("reports the interruption", func() {
		Expect(runErr).To(MatchError(context.Canceled))
		Expect(res.Passed).To(BeFalse())
	})

	It("puts the stack back at its baseline", func(ctx SpecContext) {
		Expect(res.Residue).To(BeEmpty())
		s, err := res.Drill.CheckSteadyState(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.OK()).To(BeTrue(), s.String())
	})

	It("leaves nothing pending in the undo journal", func() {
		pending, err := res.Drill.Journal.Pending()
		Expect(err).NotTo(HaveOccurred())
		Expect(pending).To(BeEmpty())
	})

	It("marks the evidence pack incomplete", func() {
		Expect(filepath.Join(res.EvidenceDir, evidence.IncompleteFile)).To(BeAnExistingFile())
		marker, err := os.ReadFile(filepath.Join(res.EvidenceDir, evidence.IncompleteFile))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(marker)).To(ContainSubstring("context canceled"))
	})

	It("records the drill as aborted in the ledger", func() {
		records, err := drillLedger.Records()
		Expect(err).NotTo(HaveOccurred())
		Expect(records).NotTo(BeEmpty())
		last := records[len(records)-1]
		Expect(last.Seq).To(Equal(res.LedgerSeq))
		Expect(last.Result).To(Equal(ledger.Aborted))
	})
})
