// Package htmlreport renders drill results as HTML a person reads: a page per drill with a timeline
// picture of its phases against the runbook's response target and process windows, an index of a
// run's drills, and the compliance schedule. Pages are self-contained (inline CSS and SVG, no
// script, nothing fetched) and link to each other and to the evidence packs by relative paths, so
// they read the same from a directory or an unpacked artifact archive.
package htmlreport

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/report"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// Site is what one run's pages show.
type Site struct {
	// Results get a page each and a row in the index, in this order. A relative EvidenceDir is
	// taken from the current directory.
	Results []drill.Result
	// Process is the runbook's general response process: its phase windows are shaded in each
	// drill's timeline.
	Process []runbook.Phase
	// Compliance, when set, is written as compliance.html and linked from every page.
	Compliance *report.Report
	// Generated is shown in each page's footer; zero leaves it out.
	Generated time.Time
}

// File names of the pages Write always writes.
const (
	IndexFile      = "index.html"
	ComplianceFile = "compliance.html"
)

// maxEvidenceFiles bounds the evidence list of one drill page.
const maxEvidenceFiles = 500

// PageFile is the file name of a drill's page: its id, with anything but letters, digits, '.', '_'
// and '-' replaced.
func PageFile(id string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, id)
	return strings.TrimLeft(name, ".") + ".html"
}

// Write writes the site into dir, creating it: index.html, compliance.html when the site has a
// compliance report, and one page per result. Each file is replaced whole. It returns the paths
// written, the index first.
func Write(dir string, site Site) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write html report: %w", err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("write html report: %w", err)
	}
	var written []string
	write := func(name, tmpl string, data any) error {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, tmpl, data); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if err := replaceFile(path, b.Bytes()); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}
	common := commonData{HasCompliance: site.Compliance != nil}
	if !site.Generated.IsZero() {
		common.Generated = site.Generated.UTC().Format(time.RFC3339)
	}
	if err := write(IndexFile, "index.html.tmpl", indexData(site, common)); err != nil {
		return written, err
	}
	if site.Compliance != nil {
		if err := write(ComplianceFile, "compliance.html.tmpl", complianceData(*site.Compliance, site.Results, common)); err != nil {
			return written, err
		}
	}
	for _, res := range site.Results {
		if err := write(PageFile(res.ID), "drill.html.tmpl", drillData(res, site.Process, absDir, common)); err != nil {
			return written, err
		}
	}
	return written, nil
}

// replaceFile writes data through a temporary file in the same directory and a rename.
func replaceFile(path string, data []byte) error {
	if err := writeThroughTemp(path, data); err != nil {
		// The cause only: the temporary file's name would mislead.
		var pe *fs.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeThroughTemp(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// commonData is what every page's header and footer show.
type commonData struct {
	HasCompliance bool
	Generated     string
}

type indexRow struct {
	Page, ID, Scenario, Title, Severity, Started, Verdict, Recovery, Target string
	Passed                                                                  bool
	Findings                                                                int
}

type indexPage struct {
	commonData
	Rows           []indexRow
	Passed, Failed int
}

func indexData(site Site, common commonData) indexPage {
	p := indexPage{commonData: common}
	for _, res := range site.Results {
		row := indexRow{
			Page: PageFile(res.ID), ID: res.ID, Scenario: res.Scenario, Title: res.Title, Severity: res.Severity,
			Started: day(res.Started), Verdict: verdict(res), Recovery: recovery(res), Target: targetText(res),
			Passed: res.Passed, Findings: len(res.Findings),
		}
		if res.Passed {
			p.Passed++
		} else {
			p.Failed++
		}
		p.Rows = append(p.Rows, row)
	}
	return p
}

func verdict(res drill.Result) string {
	if res.Passed {
		return "passed"
	}
	return "failed"
}

// recovery is the time from injection to recovery, as the response target measures it.
func recovery(res drill.Result) string {
	switch {
	case res.InjectedAt.IsZero():
		return "nothing injected"
	case res.RecoveredAt.IsZero():
		return "not recovered"
	}
	return duration(res.RecoveredAt.Sub(res.InjectedAt))
}

func targetText(res drill.Result) string {
	switch {
	case res.ResponseTarget == 0:
		return "no target"
	case res.TargetMet:
		return "met"
	}
	return "missed"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

type complianceRow struct {
	report.Row
	StatusText string
	// Drill is the page of this run's latest drill of the scenario, if any.
	Drill string
}

type compliancePage struct {
	commonData
	Report  report.Report
	Rows    []complianceRow
	Summary string
}

func complianceData(rep report.Report, results []drill.Result, common commonData) compliancePage {
	latest := map[string]string{}
	for _, res := range results {
		latest[res.Scenario] = PageFile(res.ID)
	}
	p := compliancePage{commonData: common, Report: rep}
	for _, row := range rep.Rows {
		p.Rows = append(p.Rows, complianceRow{Row: row, StatusText: row.Status.Text(), Drill: latest[row.Scenario]})
	}
	var parts []string
	for _, st := range []report.Status{report.Overdue, report.NeverTested, report.DueSoon, report.OK, report.Unscheduled} {
		if n := rep.Counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st.Text()))
		}
	}
	p.Summary = strings.Join(parts, ", ")
	return p
}

type optionRow struct {
	drill.OptionResult
	Status, Duration string
}

type evidenceFile struct {
	Name, Href string
	Size       int64
}

type phaseRow struct {
	Name, Start, Duration string
}

type drillPage struct {
	commonData
	Result drill.Result
	// Verdict is "passed" or "failed"; Target "met", "missed" or "no target".
	Verdict, Target, Recovery, TargetTime, SeverityTarget string
	Picture                                               picture
	Timeline                                              timeline
	PhaseRows                                             []phaseRow
	Options                                               []optionRow
	Evidence                                              []evidenceFile
	// EvidenceNote says why the evidence list is empty or cut short.
	EvidenceNote string
	EvidenceHref string
}

func drillData(res drill.Result, process []runbook.Phase, outDir string, common commonData) drillPage {
	tl := buildTimeline(res, process)
	p := drillPage{
		commonData: common, Result: res, Verdict: verdict(res), Target: targetText(res), Recovery: recovery(res),
		Picture: tl.picture(), Timeline: tl,
	}
	if res.ResponseTarget > 0 {
		p.TargetTime = duration(res.ResponseTarget)
	}
	for _, s := range tl.Phases {
		p.PhaseRows = append(p.PhaseRows, phaseRow{Name: s.Name, Start: offset(s.Start), Duration: duration(s.End - s.Start)})
	}
	for _, o := range res.Options {
		row := optionRow{OptionResult: o, Duration: duration(o.Duration)}
		switch {
		case o.Error != "":
			row.Status = "failed"
		case o.Ran:
			row.Status = "ran"
		default:
			row.Status = "skipped"
		}
		p.Options = append(p.Options, row)
	}
	p.Evidence, p.EvidenceHref, p.EvidenceNote = evidenceFiles(res.EvidenceDir, outDir)
	return p
}

// evidenceFiles lists the evidence pack's files with links relative to outDir.
func evidenceFiles(evidenceDir, outDir string) (files []evidenceFile, dirHref, note string) {
	if evidenceDir == "" {
		return nil, "", "the drill opened no evidence pack"
	}
	abs, err := filepath.Abs(evidenceDir)
	if err != nil {
		return nil, "", fmt.Sprintf("evidence pack %s: %v", evidenceDir, err)
	}
	dirHref, err = relHref(outDir, abs)
	if err != nil {
		return nil, "", fmt.Sprintf("evidence pack %s: %v", evidenceDir, err)
	}
	more := 0
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(files) == maxEvidenceFiles {
			more++
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, path)
		href, err := relHref(outDir, path)
		if err != nil {
			return err
		}
		files = append(files, evidenceFile{Name: filepath.ToSlash(rel), Href: href, Size: info.Size()})
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Sprintf("the evidence pack %s is not here: copy it beside the results to link it", evidenceDir)
	case err != nil:
		return files, dirHref, fmt.Sprintf("cannot list the evidence pack %s: %v", evidenceDir, err)
	case more > 0:
		return files, dirHref, fmt.Sprintf("%d more files not listed", more)
	case len(files) == 0:
		return nil, dirHref, "the evidence pack is empty"
	}
	return files, dirHref, ""
}

// relHref is a URL reference to target from a page in dir.
func relHref(dir, target string) (string, error) {
	rel, err := filepath.Rel(dir, target)
	if err != nil {
		return "", err
	}
	u := url.URL{Path: filepath.ToSlash(rel)}
	return u.String(), nil
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"duration": duration,
	"offset":   offset,
	"day":      day,
	"dash": func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	},
	"size": func(n int64) string {
		switch {
		case n < 1024:
			return fmt.Sprintf("%d B", n)
		case n < 1024*1024:
			return fmt.Sprintf("%.1f KiB", float64(n)/1024)
		}
		return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
	},
}).ParseFS(templateFS, "templates/*.tmpl"))
