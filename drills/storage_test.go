package drills

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/scenarios/storage"
)

func storageScenario() storage.Scenario {
	return storage.Scenario{ArchiveDir: filepath.Join(envOr("ARTIFACTS", filepath.Join(repoRoot, "artifacts")), "evidence-archive")}
}

var _ = Describe("Evidence storage full", Ordered, labelsFor("storage"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		var err error
		res, err = drill.Run(ctx, drillConfig(storageScenario()))
		recordResult(res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("sees uploads refused with 507 on a really full volume", func() {
		Expect(res.Symptoms[0]).To(ContainSubstring("answered 507"))
	})

	It("archives evidence older than 60 days byte-for-byte before deleting it (option A)", Label("option:A"), func() {
		a := optionResult(res, "A")
		Expect(a.Effect).To(ContainSubstring("7 files archived byte-for-byte"))
		Expect(a.Recovered).To(BeTrue())
	})

	It("stores the output of the runbook's own diagnosis and evidence commands, run as written", func() {
		expectRunbookCommandsInPack(res)
	})

	It("leaves the stack exactly at its baseline", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})

var _ = Describe("Evidence storage full, without an archive store", Ordered, labelsFor("storage"), func() {
	var res drill.Result

	BeforeAll(func(ctx SpecContext) {
		cfg := drillConfig(storageScenario())
		cfg.Options = []string{"B", "C"}
		var err error
		res, err = drill.Run(ctx, cfg)
		recordResult(res)
		Expect(err).NotTo(HaveOccurred())
	})

	It("finds PVC expansion not applicable on this storage class (option B)", Label("option:B"), func() {
		b := optionResult(res, "B")
		Expect(b.Skipped).To(ContainSubstring("not applicable here"))
		Expect(b.Skipped).To(ContainSubstring("allowVolumeExpansion=false"))
	})

	It("deletes only evidence past the 90-day retention under approval (option C)", Label("option:C"), func() {
		c := optionResult(res, "C")
		Expect(c.Effect).To(ContainSubstring("deleted 4 files past retention; kept 3 files of 60-90 days and"))
		Expect(c.Recovered).To(BeTrue())
		Expect(res.Drill.Approvals()).To(ContainElement(HaveField("Option", "C")))
	})

	It("leaves the stack exactly at its baseline", func() {
		Expect(res.Residue).To(BeEmpty())
	})
})
