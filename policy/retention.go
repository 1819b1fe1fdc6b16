package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Retention lengths in the duration grammar (PROTOCOL.md, "Retention").
const (
	secondsPerDay = 86400
	daysPerYear   = 365
	daysPerMonth  = 30
	daysPerWeek   = 7
)

// RetentionClass orders retention values coarsely: every duration sits
// between session and indefinite.
type RetentionClass int

const (
	ClassNone RetentionClass = iota
	ClassSession
	ClassDuration
	ClassIndefinite
)

// RetentionValue is a parsed Retention.
type RetentionValue struct {
	Class RetentionClass
	// Seconds is the duration's length (Class == ClassDuration only),
	// counting a year as 365 days, a month as 30 and a week as 7.
	Seconds int64
	// Text is the value exactly as written; durations keep their components.
	Text string
}

// String returns the value as it appears in JSON.
func (r RetentionValue) String() string { return r.Text }

// ParseRetention parses "none", "session", "indefinite" or an ISO 8601
// duration P[nY][nM][nW][nD][T[nH][nM][nS]] with non-negative integer
// components of at most 9 digits, at least one component, and "T" only when a
// time component follows.
func ParseRetention(s string) (RetentionValue, error) {
	switch Retention(s) {
	case RetentionNone:
		return RetentionValue{Class: ClassNone, Text: s}, nil
	case RetentionSession:
		return RetentionValue{Class: ClassSession, Text: s}, nil
	case RetentionIndefinite:
		return RetentionValue{Class: ClassIndefinite, Text: s}, nil
	}
	bad := func(why string) (RetentionValue, error) {
		return RetentionValue{}, &detailError{kind: ErrInvalidValue, msg: fmt.Sprintf("retention %q: %s", s, why)}
	}
	if !strings.HasPrefix(s, "P") {
		return bad(`must be "none", "session", "indefinite" or an ISO 8601 duration starting with "P"`)
	}
	rest := s[1:]
	datePart, timePart, hasT := strings.Cut(rest, "T")
	if hasT && timePart == "" {
		return bad(`"T" must be followed by hours, minutes or seconds`)
	}
	var total int64
	n := 0
	parse := func(part, units string, mult []int64) error {
		last := -1
		for part != "" {
			i := 0
			for i < len(part) && part[i] >= '0' && part[i] <= '9' {
				i++
			}
			if i == 0 || i == len(part) {
				return fmt.Errorf("expected digits followed by one of %s", units)
			}
			if i > 9 {
				return fmt.Errorf("component has more than 9 digits")
			}
			if part[i] == '.' || part[i] == ',' {
				return fmt.Errorf("components must be whole numbers")
			}
			u := strings.IndexByte(units, part[i])
			if u < 0 {
				return fmt.Errorf("unit %q not allowed here (want one of %s)", part[i], units)
			}
			if u <= last {
				return fmt.Errorf("units out of order or repeated")
			}
			last = u
			v, _ := strconv.ParseInt(part[:i], 10, 64)
			total += v * mult[u]
			n++
			part = part[i+1:]
		}
		return nil
	}
	if err := parse(datePart, "YMWD", []int64{daysPerYear * secondsPerDay, daysPerMonth * secondsPerDay, daysPerWeek * secondsPerDay, secondsPerDay}); err != nil {
		return bad(err.Error())
	}
	if err := parse(timePart, "HMS", []int64{3600, 60, 1}); err != nil {
		return bad(err.Error())
	}
	if n == 0 {
		return bad("duration has no components")
	}
	return RetentionValue{Class: ClassDuration, Seconds: total, Text: s}, nil
}

// retentionKey orders any Retention; an unparseable value sorts after
// "indefinite" so that it never satisfies a user's ceiling.
func retentionKey(r Retention) (RetentionClass, int64) {
	v, err := ParseRetention(string(r))
	if err != nil {
		return ClassIndefinite + 1, 0
	}
	return v.Class, v.Seconds
}

// CompareRetention returns -1 if a keeps data for less time than b, +1 if
// longer, 0 if the same (e.g. "P1W" and "P7D"). Order: none < session <
// durations by length < indefinite < anything unparseable.
func CompareRetention(a, b Retention) int {
	ac, as := retentionKey(a)
	bc, bs := retentionKey(b)
	switch {
	case ac != bc:
		if ac < bc {
			return -1
		}
		return 1
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}
