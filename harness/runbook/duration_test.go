package runbook_test

import (
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

func TestNext(t *testing.T) {
	t.Parallel()
	d := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name string
		iv   runbook.Interval
		from string
		want string
	}{
		{"month end to a short month", runbook.Monthly, "2026-01-31T10:00:00Z", "2026-02-28"},
		{"month end in a leap year", runbook.Monthly, "2028-01-31T10:00:00Z", "2028-02-29"},
		{"the 30th to February", runbook.Monthly, "2027-01-30T00:00:00Z", "2027-02-28"},
		{"31st to a 30-day month", runbook.Monthly, "2026-03-31T00:00:00Z", "2026-04-30"},
		{"plain month", runbook.Monthly, "2026-10-15T23:59:59Z", "2026-11-15"},
		{"over the year end", runbook.Monthly, "2026-12-31T00:00:00Z", "2027-01-31"},
		{"quarter from a quarter end", runbook.Quarterly, "2026-03-31T00:00:00Z", "2026-06-30"},
		{"quarter into February", runbook.Quarterly, "2026-11-30T00:00:00Z", "2027-02-28"},
		{"quarter into a leap February", runbook.Quarterly, "2027-11-30T00:00:00Z", "2028-02-29"},
		{"quarter over the year end", runbook.Quarterly, "2026-12-31T00:00:00Z", "2027-03-31"},
		{"half year from August 31", runbook.SemiAnnual, "2026-08-31T00:00:00Z", "2027-02-28"},
		{"leap day plus a year", runbook.Annual, "2028-02-29T12:00:00Z", "2029-02-28"},
		{"leap day plus four years", runbook.Annual, "2031-02-28T00:00:00Z", "2032-02-28"},
		{"a week over the year end", runbook.Weekly, "2026-12-28T00:00:00Z", "2027-01-04"},
		{"local time converted to UTC first", runbook.Monthly, "2026-01-31T23:30:00-05:00", "2026-03-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.iv.Next(d(tc.from))
			if got.Format("2006-01-02") != tc.want || got.Location() != time.UTC || got.Hour() != 0 {
				t.Errorf("%s.Next(%s) = %v, want %s", tc.iv, tc.from, got, tc.want)
			}
		})
	}
	if got := runbook.Interval("fortnightly").Next(d("2026-01-01T00:00:00Z")); !got.IsZero() {
		t.Errorf("unknown interval = %v", got)
	}
}

func TestParseDurationAndWindow(t *testing.T) {
	t.Parallel()
	durations := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5 minutes", 5 * time.Minute, true}, {"1 hour", time.Hour, true}, {"4 hours", 4 * time.Hour, true},
		{"15 min", 15 * time.Minute, true}, {"90s", 90 * time.Second, true}, {"1 day", 24 * time.Hour, true},
		{"1.5 hours", 90 * time.Minute, true}, {"1h30m", 90 * time.Minute, true},
		{"soon", 0, false}, {"", 0, false}, {"-5m", 0, false},
	}
	for _, tc := range durations {
		got, err := runbook.ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
	windows := []struct {
		in       string
		min, max time.Duration
		open, ok bool
	}{
		{"0-5 minutes", 0, 5 * time.Minute, false, true},
		{"24-72 hours", 24 * time.Hour, 72 * time.Hour, false, true},
		{"30+ minutes", 30 * time.Minute, 0, true, true},
		{"10 to 30 min", 10 * time.Minute, 30 * time.Minute, false, true},
		{"within an hour", 0, 0, false, false},
		{"30-10 minutes", 0, 0, false, false},
	}
	for _, tc := range windows {
		got, err := runbook.ParseWindow(tc.in)
		if (err == nil) != tc.ok || got.Min != tc.min || got.Max != tc.max || got.Open != tc.open {
			t.Errorf("ParseWindow(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
