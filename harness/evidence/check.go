package evidence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Requirements is what a pack must hold. The caller builds it from the runbook's evidence section.
type Requirements struct {
	// Files are storage-tree entries relative to the pack, spelled as in the runbook:
	// "timeline.md", "logs/frontend-[timestamp].log", "logs/". "[timestamp]" matches a capture
	// time as the pack writes it (with the phase and sequence number after it); any other
	// "[...]" matches one name part. A trailing "/" names a directory that must hold a file.
	// Each entry must match at least one file and every match must be non-empty. A file still
	// carrying its pending template (rca.md before the postmortem) is reported pending, which does
	// not make the pack incomplete.
	Files []string
	// LogPhases are the phases for which at least one non-empty log must exist.
	LogPhases []Phase
	// Changes must be in changes.json and Approvals in approvals.json.
	Changes   Records
	Approvals Records
}

// Records names records a pack must hold: at least Min of them, and each of IDs.
type Records struct {
	Min int
	IDs []string
}

// Status is the state of one required item.
type Status string

// Statuses of an item. OK and Pending items leave a pack complete; all others do not.
const (
	StatusOK         Status = "ok"
	StatusPending    Status = "pending"    // a template still to be completed, e.g. the RCA before the postmortem
	StatusMissing    Status = "missing"    // no such file or record
	StatusEmpty      Status = "empty"      // present, with nothing in it
	StatusInvalid    Status = "invalid"    // present, but not readable as what it should be
	StatusIncomplete Status = "incomplete" // the drill was interrupted: the pack carries the INCOMPLETE marker
)

// Item is one checked requirement.
type Item struct {
	Name   string // the tree entry, "logs before", "change <id>", ...
	Status Status
	Reason string
}

// Report is the result of Check, one item per requirement in the order of Requirements.
type Report struct {
	Dir   string
	Items []Item
}

// Complete reports whether every item is ok or pending.
func (r Report) Complete() bool {
	for _, it := range r.Items {
		if it.Status != StatusOK && it.Status != StatusPending {
			return false
		}
	}
	return true
}

// String renders one line per item: status, name and reason.
func (r Report) String() string {
	var b strings.Builder
	for _, it := range r.Items {
		fmt.Fprintf(&b, "%-10s %s: %s\n", it.Status, it.Name, it.Reason)
	}
	return b.String()
}

// Check reports, item by item, whether the pack in dir holds what req asks for. It reads the
// files themselves, so it works on a pack that was never sealed; it does not verify the manifest
// (see Verify). A pack marked INCOMPLETE is never complete.
func Check(dir string, req Requirements) Report {
	c := checker{dir: dir, sizes: map[string]int64{}}
	_ = walkFiles(dir, func(rel string, d fs.DirEntry) error { // unreadable parts show up as missing
		if fi, err := d.Info(); err == nil {
			c.files = append(c.files, rel)
			c.sizes[rel] = fi.Size()
		}
		return nil
	})
	slices.Sort(c.files)

	var items []Item
	if b, err := os.ReadFile(filepath.Join(dir, IncompleteFile)); err == nil {
		items = append(items, Item{"drill", StatusIncomplete, "interrupted: " + incompleteReason(b)})
	}
	for _, entry := range req.Files {
		items = append(items, c.file(entry))
	}
	for _, phase := range req.LogPhases {
		items = append(items, c.logs(phase))
	}
	changes, citems := records[Change](c, ChangesFile, "change", req.Changes, func(x Change) string { return x.ID })
	approvals, aitems := records[Approval](c, ApprovalsFile, "approval", req.Approvals, func(x Approval) string { return x.ID })
	items = append(items, citems...)
	items = append(items, aitems...)
	for _, ch := range changes { // a change that needed an approval names it: it must be on record
		if ch.Approval != "" && !slices.ContainsFunc(approvals, func(a Approval) bool { return a.ID == ch.Approval }) {
			items = append(items, Item{"approval " + ch.Approval, StatusMissing,
				fmt.Sprintf("change %s names it, %s does not hold it", ch.ID, ApprovalsFile)})
		}
	}
	return Report{Dir: dir, Items: items}
}

type checker struct {
	dir   string
	files []string // every file, '/'-separated and relative, sorted
	sizes map[string]int64
}

func (c checker) file(entry string) Item {
	it := Item{Name: entry}
	var matches []string
	switch {
	case strings.HasSuffix(entry, "/"):
		for _, f := range c.files {
			if strings.HasPrefix(f, entry) {
				matches = append(matches, f)
			}
		}
		if len(matches) == 0 {
			if fi, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(entry))); err == nil && fi.IsDir() {
				it.Status, it.Reason = StatusEmpty, "the directory holds no file"
			} else {
				it.Status, it.Reason = StatusMissing, "no such directory"
			}
			return it
		}
		it.Status, it.Reason = StatusOK, count(len(matches), "file")
		return it
	case strings.Contains(entry, "["):
		re := patternRE(entry)
		for _, f := range c.files {
			if re.MatchString(f) {
				matches = append(matches, f)
			}
		}
	default:
		if _, ok := c.sizes[entry]; ok {
			matches = []string{entry}
		}
	}
	if len(matches) == 0 {
		it.Status, it.Reason = StatusMissing, "no such file"
		return it
	}
	var empty, pending []string
	for _, f := range matches {
		switch {
		case c.sizes[f] == 0:
			empty = append(empty, f)
		case c.pending(f):
			pending = append(pending, f)
		}
	}
	switch {
	case len(empty) > 0:
		it.Status, it.Reason = StatusEmpty, "empty: "+strings.Join(empty, ", ")
	case len(pending) > 0:
		it.Status, it.Reason = StatusPending, "pending postmortem: still the template"
	case len(matches) == 1:
		it.Status, it.Reason = StatusOK, fmt.Sprintf("%d bytes", c.sizes[matches[0]])
	default:
		it.Status, it.Reason = StatusOK, count(len(matches), "file")
	}
	return it
}

// pending reports whether a file starts with the pending-template marker.
func (c checker) pending(rel string) bool {
	f, err := os.Open(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(pendingMarker))
	n, _ := f.Read(head)
	return string(head[:n]) == pendingMarker
}

func (c checker) logs(phase Phase) Item {
	it := Item{Name: "logs " + string(phase)}
	var kinds, empty []string
	for _, f := range c.files {
		dir, base := path.Split(f)
		m := logRE.FindStringSubmatch(base)
		if dir != LogsDir+"/" || m == nil || Phase(m[3]) != phase {
			continue
		}
		if c.sizes[f] == 0 {
			empty = append(empty, f)
		} else if !slices.Contains(kinds, m[1]) {
			kinds = append(kinds, m[1])
		}
	}
	switch {
	case len(kinds) > 0:
		it.Status, it.Reason = StatusOK, "captured: "+strings.Join(kinds, ", ")
	case len(empty) > 0:
		it.Status, it.Reason = StatusEmpty, "empty: "+strings.Join(empty, ", ")
	default:
		it.Status, it.Reason = StatusMissing, fmt.Sprintf("no log captured %s the incident", phase)
	}
	return it
}

// records reads a record file and checks want against it. It returns the records, nil when the
// file cannot be read as records, and the items: one for the count when Min is set, one per ID.
func records[T any](c checker, file, noun string, want Records, id func(T) string) ([]T, []Item) {
	b, err := os.ReadFile(filepath.Join(c.dir, file))
	var all []T
	if err == nil {
		err = json.Unmarshal(b, &all)
	}
	if err == nil && all == nil {
		err = fmt.Errorf("no JSON array")
	}
	if err != nil {
		if want.Min == 0 && len(want.IDs) == 0 {
			return nil, nil
		}
		status := StatusInvalid
		if os.IsNotExist(err) {
			status = StatusMissing
		}
		return nil, []Item{{file, status, fmt.Sprintf("cannot read %ss: %v", noun, err)}}
	}
	var items []Item
	if want.Min > 0 {
		it := Item{noun + "s", StatusOK, fmt.Sprintf("%d recorded, %d required", len(all), want.Min)}
		if len(all) < want.Min {
			it.Status = StatusMissing
		}
		items = append(items, it)
	}
	for _, w := range want.IDs {
		it := Item{noun + " " + w, StatusOK, "recorded in " + file}
		if !slices.ContainsFunc(all, func(x T) bool { return id(x) == w }) {
			it.Status, it.Reason = StatusMissing, "not recorded in "+file
		}
		items = append(items, it)
	}
	return all, items
}

// patternRE turns a storage-tree entry with placeholders into a regular expression over paths.
func patternRE(entry string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for rest := entry; rest != ""; {
		i := strings.IndexByte(rest, '[')
		j := strings.IndexByte(rest, ']')
		if i < 0 || j < i {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		if strings.EqualFold(rest[i+1:j], "timestamp") {
			b.WriteString(`\d{8}T\d{6}Z(?:-(?:before|during|after))?(?:-\d+)?`)
		} else {
			b.WriteString(`[^/]+`)
		}
		rest = rest[j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func incompleteReason(marker []byte) string {
	s := bufio.NewScanner(bytes.NewReader(marker))
	for s.Scan() {
		if r, ok := strings.CutPrefix(s.Text(), "Reason: "); ok {
			return r
		}
	}
	return "see " + IncompleteFile
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
