package htmlreport

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// phaseOrder is the order Run enters its phases; a result without events is laid out in it.
var phaseOrder = []string{
	drill.PhaseBaseline, drill.PhaseInject, drill.PhaseDetect, drill.PhaseAcknowledge, drill.PhaseDiagnose,
	drill.PhaseMitigate, drill.PhaseRecover, drill.PhaseEvidence, drill.PhaseCleanup,
}

// Milestones, in the order their lanes are drawn.
const (
	markInjected     = "injected"
	markDetected     = "detected"
	markAcknowledged = "acknowledged"
	markRecovered    = "recovered"
)

// span is a phase or a mitigation option on the timeline, as offsets from the origin.
type span struct {
	Name  string // phase name, or option letter
	Label string
	Start time.Duration
	End   time.Duration
	// State of an option: recovered, no-recovery, skipped or failed; empty for phases.
	State string
}

// mark is a milestone of the incident clock.
type mark struct {
	Name string
	At   time.Duration
}

// window is a phase window of the runbook's response process, counted from detection.
type window struct {
	Name  string
	Text  string // as the runbook writes it: "10-30 minutes"
	Start time.Duration
	End   time.Duration // 0 when Open
	Open  bool
}

// timeline is a drill's phases, options and milestones against the runbook's targets, all as
// offsets from the origin: the injection, or the drill's start when nothing was injected.
type timeline struct {
	Origin  time.Time
	Phases  []span
	Options []span
	Marks   []mark
	// Windows are anchored at detection, or at the origin when the fault was never detected.
	Windows       []window
	WindowsAnchor string        // what the windows count from: detection, injection or the drill's start
	AnchorAt      time.Duration // where that is
	Target        time.Duration // severity response time; 0 when unknown
	Deadline      time.Duration // the mitigation window's end, the drill's deadline; 0 when unknown
	// Approximate is set when the result has no events: phases are laid end to end from Started.
	Approximate bool
}

// buildTimeline reads a result's events (or, without them, its phase durations) into a timeline.
func buildTimeline(res drill.Result, process []runbook.Phase) timeline {
	tl := timeline{Origin: res.InjectedAt, Target: res.ResponseTarget, Deadline: res.MitigationMax}
	if tl.Origin.IsZero() {
		tl.Origin = res.Started
	}
	if tl.Origin.IsZero() && len(res.Events) > 0 {
		tl.Origin = res.Events[0].At
	}
	off := func(t time.Time) time.Duration { return t.Sub(tl.Origin) }
	options := map[string]drill.OptionResult{}
	for _, o := range res.Options {
		options[o.Letter] = o
	}

	if len(res.Events) == 0 {
		tl.Approximate = true
		at := off(res.Started)
		for _, name := range phaseOrder {
			d, ok := res.Phases[name]
			if !ok {
				continue
			}
			if name == drill.PhaseMitigate {
				t := at
				for _, o := range res.Options {
					tl.Options = append(tl.Options, optionSpan(o, t))
					t += o.Duration
				}
			}
			tl.Phases = append(tl.Phases, span{Name: name, Label: name, Start: at, End: at + d})
			at += d
		}
	} else {
		for i, ev := range res.Events {
			switch letter, kind := optionEvent(ev.What); {
			case ev.What == "phase started":
				s := span{Name: ev.Detail, Label: ev.Detail, Start: off(ev.At)}
				if d, ok := res.Phases[ev.Detail]; ok {
					s.End = s.Start + d
				} else {
					s.End = phaseEnd(res, i, tl.Origin)
				}
				tl.Phases = append(tl.Phases, s)
			case kind != "":
				o, ok := options[letter]
				if !ok {
					o = drill.OptionResult{Letter: letter, Skipped: ev.Detail}
				}
				tl.Options = append(tl.Options, optionSpan(o, off(ev.At)))
			}
		}
	}

	addMark := func(name string, t time.Time) {
		if !t.IsZero() {
			tl.Marks = append(tl.Marks, mark{Name: name, At: off(t)})
		}
	}
	addMark(markInjected, res.InjectedAt)
	addMark(markDetected, res.DetectedAt)
	addMark(markAcknowledged, acknowledgedAt(res, tl))
	addMark(markRecovered, res.RecoveredAt)

	tl.WindowsAnchor = "injection"
	if res.InjectedAt.IsZero() {
		tl.WindowsAnchor = "the drill's start"
	}
	if !res.DetectedAt.IsZero() {
		tl.AnchorAt, tl.WindowsAnchor = off(res.DetectedAt), "detection"
	}
	for _, p := range process {
		if p.Window.Max == 0 && !p.Window.Open {
			continue
		}
		w := window{Name: p.Name, Text: p.Window.Text, Start: tl.AnchorAt + p.Window.Min, Open: p.Window.Open}
		if !w.Open {
			w.End = tl.AnchorAt + p.Window.Max
		}
		tl.Windows = append(tl.Windows, w)
	}
	return tl
}

// optionEvent reads "option B" (the option starts) and "option A skipped" from an event's What;
// kind is empty for any other event.
func optionEvent(what string) (letter, kind string) {
	rest, ok := strings.CutPrefix(what, "option ")
	if !ok {
		return "", ""
	}
	letter, suffix, _ := strings.Cut(rest, " ")
	switch {
	case letter == "":
		return "", ""
	case suffix == "":
		return letter, "started"
	case suffix == "skipped":
		return letter, "skipped"
	}
	return "", ""
}

func optionSpan(o drill.OptionResult, start time.Duration) span {
	s := span{Name: o.Letter, Label: "option " + o.Letter, Start: start, End: start + o.Duration}
	switch {
	case o.Error != "":
		s.State = "failed"
	case o.Skipped != "":
		s.State = "skipped"
	case o.Recovered || o.RecoveredAfterRevert:
		s.State = "recovered"
	default:
		s.State = "no-recovery"
	}
	return s
}

// phaseEnd is where the phase started by event i ends when the result has no duration for it:
// at the next phase, or when the drill finished.
func phaseEnd(res drill.Result, i int, origin time.Time) time.Duration {
	for _, ev := range res.Events[i+1:] {
		if ev.What == "phase started" {
			return ev.At.Sub(origin)
		}
	}
	if !res.Finished.IsZero() {
		return res.Finished.Sub(origin)
	}
	return res.Events[len(res.Events)-1].At.Sub(origin)
}

// acknowledgedAt is when the incident was declared: the acknowledge phase's "incident declared"
// event, or the end of that phase.
func acknowledgedAt(res drill.Result, tl timeline) time.Time {
	for _, ev := range res.Events {
		if ev.Phase == drill.PhaseAcknowledge && ev.What == "incident declared" {
			return ev.At
		}
	}
	for _, p := range tl.Phases {
		if p.Name == drill.PhaseAcknowledge {
			return tl.Origin.Add(p.End)
		}
	}
	return time.Time{}
}

// Geometry of the picture, in SVG user units (the SVG scales to the page's width).
const (
	svgWidth   = 960.0
	plotLeft   = 170.0
	plotRight  = 930.0
	headerH    = 34.0 // window labels
	laneH      = 22.0
	barH       = 14.0
	footerH    = 56.0 // the axis, then the reference lines' labels
	minBarW    = 3.0  // a phase of microseconds is still visible
	markRadius = 5.0
)

// svgBar is a phase or option lane.
type svgBar struct {
	Name, Label, Title, State string
	Y, TextY, X, W            string
}

// svgMark is a milestone lane with a line across the plot.
type svgMark struct {
	Name, Label, Title string
	X, Y, TextY, TextX string
	Anchor             string // text-anchor of the time label: end near the right edge
}

// svgWindow is a shaded process window; Clipped when it goes on past the right edge.
type svgWindow struct {
	Name, Label, Title string
	X, W, TextX, TextY string
	Shade              string // "a" or "b", alternating so adjacent windows stay apart
	Clipped            bool
}

// svgLine is a vertical reference line (response target, mitigation deadline).
type svgLine struct {
	X, Label, Title, TextX, TextY string
}

type svgTick struct{ X, Label string }

// picture is the laid-out timeline the template draws.
type picture struct {
	Height, PlotTop, PlotBottom, AxisY, LabelX, PlotLeft, PlotRight, BarH string
	Marks                                                                 []svgMark
	Phases                                                                []svgBar
	Options                                                               []svgBar
	Windows                                                               []svgWindow
	Target, Deadline                                                      *svgLine
	Ticks                                                                 []svgTick
	// Offstage says what lies beyond the right edge: windows and lines outside the range.
	Offstage []string
}

// span of the axis: from the earliest phase (the baseline precedes injection) to the last thing
// that happened or the response target, whichever is later. Windows and the mitigation deadline
// do not stretch it: a 3-minute drill drawn on a 30-minute axis would be a sliver.
func (tl timeline) axis() (from, to time.Duration) {
	for _, s := range append(append([]span(nil), tl.Phases...), tl.Options...) {
		from = min(from, s.Start)
		to = max(to, s.End)
	}
	for _, m := range tl.Marks {
		from, to = min(from, m.At), max(to, m.At)
	}
	to = max(to, tl.Target)
	if to <= from {
		to = from + time.Minute
	}
	pad := (to - from) / 25
	return from, to + pad
}

func (tl timeline) picture() picture {
	from, to := tl.axis()
	x := func(d time.Duration) float64 {
		return plotLeft + float64(d-from)/float64(to-from)*(plotRight-plotLeft)
	}
	lanes := len(tl.Marks) + len(tl.Phases) + len(tl.Options)
	plotTop := headerH
	plotBottom := plotTop + float64(lanes)*laneH
	p := picture{
		Height: num(plotBottom + footerH), PlotTop: num(plotTop), PlotBottom: num(plotBottom), AxisY: num(plotBottom + 16),
		LabelX: num(8), PlotLeft: num(plotLeft), PlotRight: num(plotRight), BarH: num(barH),
	}
	lane := 0
	laneY := func() (bar, text, center float64) {
		top := plotTop + float64(lane)*laneH
		lane++
		return top + (laneH-barH)/2, top + laneH/2 + 4, top + laneH/2
	}
	for _, m := range tl.Marks {
		_, textY, center := laneY()
		mx := x(m.At)
		sm := svgMark{
			Name: m.Name, Label: m.Name, Title: m.Name + " at " + offset(m.At),
			X: num(mx), Y: num(center), TextY: num(textY), TextX: num(mx + markRadius + 4), Anchor: "start",
		}
		if mx > plotLeft+0.7*(plotRight-plotLeft) {
			sm.TextX, sm.Anchor = num(mx-markRadius-4), "end"
		}
		p.Marks = append(p.Marks, sm)
	}
	bar := func(s span) svgBar {
		y, textY, _ := laneY()
		x0, x1 := x(s.Start), x(s.End)
		return svgBar{
			Name: s.Name, Label: s.Label, State: s.State,
			Title: fmt.Sprintf("%s: %s (%s to %s)", s.Label, duration(s.End-s.Start), offset(s.Start), offset(s.End)),
			Y:     num(y), TextY: num(textY), X: num(x0), W: num(max(x1-x0, minBarW)),
		}
	}
	// Options are drawn right under the mitigate phase they belong to.
	for _, s := range tl.Phases {
		p.Phases = append(p.Phases, bar(s))
		if s.Name == drill.PhaseMitigate {
			for _, o := range tl.Options {
				p.Options = append(p.Options, bar(o))
			}
		}
	}
	if !slices.ContainsFunc(tl.Phases, func(s span) bool { return s.Name == drill.PhaseMitigate }) {
		for _, o := range tl.Options {
			p.Options = append(p.Options, bar(o))
		}
	}
	for i, w := range tl.Windows {
		label := w.Name + " (" + w.Text + ")"
		if w.Start >= to {
			p.Offstage = append(p.Offstage, fmt.Sprintf("%s starts %s after %s", label, duration(w.Start-tl.AnchorAt), tl.WindowsAnchor))
			continue
		}
		end := w.End
		clipped := w.Open || end > to
		if clipped {
			end = to
		}
		x0, x1 := x(max(w.Start, from)), x(end)
		title := fmt.Sprintf("%s: %s to %s", label, offset(w.Start), "open end")
		if !w.Open {
			title = fmt.Sprintf("%s: %s to %s", label, offset(w.Start), offset(w.End))
		}
		sw := svgWindow{Name: w.Name, Label: label, Title: title, X: num(x0), W: num(max(x1-x0, minBarW)), TextX: num(x0 + 3), TextY: num(13), Shade: "a", Clipped: clipped}
		if i%2 == 1 {
			sw.TextY, sw.Shade = num(28), "b"
		}
		p.Windows = append(p.Windows, sw)
	}
	line := func(d time.Duration, label, title string, textY float64) *svgLine {
		if d <= 0 {
			return nil
		}
		if d > to {
			p.Offstage = append(p.Offstage, title+" (beyond the right edge)")
			return nil
		}
		return &svgLine{X: num(x(d)), Label: label, Title: title, TextX: num(x(d) - 4), TextY: num(textY)}
	}
	p.Target = line(tl.Target, "response target "+duration(tl.Target), "response target: "+offset(tl.Target), plotBottom+34)
	p.Deadline = line(tl.Deadline, "mitigation deadline "+duration(tl.Deadline), "mitigation deadline: "+offset(tl.Deadline), plotBottom+50)
	step := tickStep(to - from)
	for t := time.Duration(math.Ceil(float64(from)/float64(step))) * step; t <= to; t += step {
		p.Ticks = append(p.Ticks, svgTick{X: num(x(t)), Label: offset(t)})
	}
	return p
}

// tickStep is the smallest round step that puts at most 8 ticks on the axis.
func tickStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	} {
		if span/s <= 8 {
			return s
		}
	}
	return 24 * time.Hour * (span/(8*24*time.Hour) + 1)
}

func num(f float64) string { return fmt.Sprintf("%.1f", f) }

// duration writes d as a person reads it: 29µs, 450ms, 2.2s, 2m56s, 1h5m.
func duration(d time.Duration) string {
	if d < 0 {
		return "-" + duration(-d)
	}
	switch {
	case d == 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	d = d.Round(time.Second)
	h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// offset writes a time since the origin: T+2m56s, T-0.4s.
func offset(d time.Duration) string {
	if d < 0 {
		return "T-" + duration(-d)
	}
	return "T+" + duration(d)
}
