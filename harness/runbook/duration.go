package runbook

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var unitRE = `(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)`

var (
	durationRE = regexp.MustCompile(`(?i)^(\d+(?:\.\d+)?)\s*` + unitRE + `$`)
	rangeRE    = regexp.MustCompile(`(?i)^(\d+(?:\.\d+)?)\s*(?:-|–|—|to)\s*(\d+(?:\.\d+)?)\s*` + unitRE + `$`)
	openRE     = regexp.MustCompile(`(?i)^(\d+(?:\.\d+)?)\s*\+\s*` + unitRE + `$`)
)

func unitOf(u string) time.Duration {
	u = strings.ToLower(u)
	switch {
	case strings.HasPrefix(u, "s"):
		return time.Second
	case strings.HasPrefix(u, "m"):
		return time.Minute
	case strings.HasPrefix(u, "h"):
		return time.Hour
	case strings.HasPrefix(u, "d"):
		return 24 * time.Hour
	default:
		return 7 * 24 * time.Hour
	}
}

func scaled(num string, unit time.Duration) time.Duration {
	f, _ := strconv.ParseFloat(num, 64) // the regexp admits only numbers
	return time.Duration(f * float64(unit))
}

// ParseDuration reads a human duration such as "5 minutes", "1 hour", "4 hours" or "90s".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if m := durationRE.FindStringSubmatch(s); m != nil {
		return scaled(m[1], unitOf(m[2])), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration: write it like \"5 minutes\" or \"1 hour\"", s)
}

// ParseWindow reads a time window such as "0-5 minutes", "30+ minutes" or "24-72 hours".
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	w := Window{Text: s}
	if m := rangeRE.FindStringSubmatch(s); m != nil {
		u := unitOf(m[3])
		w.Min, w.Max = scaled(m[1], u), scaled(m[2], u)
		if w.Max < w.Min {
			return Window{}, fmt.Errorf("window %q ends before it starts", s)
		}
		return w, nil
	}
	if m := openRE.FindStringSubmatch(s); m != nil {
		w.Min, w.Open = scaled(m[1], unitOf(m[2])), true
		return w, nil
	}
	if d, err := ParseDuration(s); err == nil {
		w.Max = d
		return w, nil
	}
	return Window{}, fmt.Errorf("%q is not a time window: write it like \"10-30 minutes\" or \"30+ minutes\"", s)
}

// Interval is how often a scenario is drilled.
type Interval string

// Intervals a schedule can state.
const (
	Weekly     Interval = "weekly"
	Monthly    Interval = "monthly"
	Quarterly  Interval = "quarterly"
	SemiAnnual Interval = "semiannual"
	Annual     Interval = "annual"
)

var intervalWords = []struct {
	re *regexp.Regexp
	iv Interval
}{
	{regexp.MustCompile(`(?i)\b(semi-?annual(ly)?|half-?yearly|every 6 months)\b`), SemiAnnual},
	{regexp.MustCompile(`(?i)\b(weekly|every week)\b`), Weekly},
	{regexp.MustCompile(`(?i)\b(monthly|every month)\b`), Monthly},
	{regexp.MustCompile(`(?i)\b(quarterly|every quarter|every 3 months)\b`), Quarterly},
	{regexp.MustCompile(`(?i)\b(annual(ly)?|yearly|every year)\b`), Annual},
}

// findInterval returns the interval a text names and the text with the interval word removed.
func findInterval(s string) (Interval, string, bool) {
	for _, w := range intervalWords {
		if loc := w.re.FindStringIndex(s); loc != nil {
			rest := strings.TrimSpace(s[:loc[0]] + s[loc[1]:])
			return w.iv, strings.Join(strings.Fields(rest), " "), true
		}
	}
	return "", "", false
}

// Next returns when the next test is due after a test on day t, all in UTC and at day precision.
//
// The rule: an interval of months (monthly 1, quarterly 3, semiannual 6, annual 12) moves to the same
// day of the month that many months later; when that month is shorter, the due date is its last day
// (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year; Feb 29 + 1 year = Feb 28; Mar 31 + 1 quarter =
// Jun 30). Quarters count from the last test, not from calendar quarters. Weekly adds 7 days.
func (iv Interval) Next(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	months := 0
	switch iv {
	case Weekly:
		return day.AddDate(0, 0, 7)
	case Monthly:
		months = 1
	case Quarterly:
		months = 3
	case SemiAnnual:
		months = 6
	case Annual:
		months = 12
	default:
		return time.Time{}
	}
	firstOfTarget := time.Date(day.Year(), day.Month()+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	lastDay := firstOfTarget.AddDate(0, 1, -1).Day()
	return time.Date(firstOfTarget.Year(), firstOfTarget.Month(), min(day.Day(), lastDay), 0, 0, 0, 0, time.UTC)
}
