package report

import (
	"errors"
	"fmt"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// ErrNoStamp is returned when the runbook has no "Last Tested:" or "Next Test Due:" line to update.
var ErrNoStamp = errors.New("the runbook has no stamp to update")

// UpdateStamps returns src with only the values of the runbook's "Last Tested" and "Next Test Due"
// stamps replaced by the report's dates; every other byte stays as it was. A runbook without passing
// drills gets "never" as Last Tested. rb must be the parse of src.
func UpdateStamps(src []byte, rb *runbook.Runbook, rep Report) ([]byte, error) {
	last, next := rb.Schedule.LastTested, rb.Schedule.NextTestDue
	for _, st := range []struct {
		stamp runbook.Stamp
		label string
	}{{last, "Last Tested"}, {next, "Next Test Due"}} {
		if st.stamp.Line == 0 {
			return nil, fmt.Errorf("%w: add a line \"**%s:** [DATE]\" to %s", ErrNoStamp, st.label, rb.Path)
		}
		if st.stamp.Offset+len(st.stamp.Value) > len(src) || string(src[st.stamp.Offset:st.stamp.Offset+len(st.stamp.Value)]) != st.stamp.Value {
			return nil, fmt.Errorf("runbook %s changed since it was parsed: parse it again", rb.Path)
		}
	}
	lastValue, nextValue := rep.LastTested, rep.NextTestDue
	if lastValue == "" {
		lastValue = "never"
	}
	if nextValue == "" {
		nextValue = next.Value // nothing is scheduled: leave it
	}
	type edit struct {
		offset, length int
		value          string
	}
	edits := []edit{{last.Offset, len(last.Value), lastValue}, {next.Offset, len(next.Value), nextValue}}
	if edits[0].offset > edits[1].offset {
		edits[0], edits[1] = edits[1], edits[0]
	}
	out := make([]byte, 0, len(src)+32)
	pos := 0
	for _, e := range edits {
		out = append(out, src[pos:e.offset]...)
		out = append(out, e.value...)
		pos = e.offset + e.length
	}
	return append(out, src[pos:]...), nil
}
