package azureemu

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timeRange is a query timespan; the zero value means unbounded.
type timeRange struct {
	start, end time.Time
	set        bool
}

func (r timeRange) contains(t time.Time) bool {
	return !r.set || (!t.Before(r.start) && t.Before(r.end))
}

var durationRE = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration reads the ISO 8601 durations Log Analytics accepts
// (PT12H, P1D, P7D, PT30M, P1W, P1DT2H…).
func parseISODuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, errors.New("invalid ISO 8601 duration")
	}
	var d time.Duration
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute}
	for i, u := range units {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * u
		}
	}
	if m[5] != "" {
		f, _ := strconv.ParseFloat(m[5], 64)
		d += time.Duration(f * float64(time.Second))
	}
	return d, nil
}

func parseInstant(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("invalid instant")
}

// parseTimespan reads "duration", "start/end", "start/duration" or
// "duration/end", relative to now.
func parseTimespan(s string, now time.Time) (timeRange, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return timeRange{}, nil
	}
	a, b, two := strings.Cut(s, "/")
	if !two {
		d, err := parseISODuration(a)
		if err != nil {
			return timeRange{}, err
		}
		return timeRange{start: now.Add(-d), end: now.Add(time.Nanosecond), set: true}, nil
	}
	if da, err := parseISODuration(a); err == nil {
		end, err := parseInstant(b)
		if err != nil {
			return timeRange{}, err
		}
		return timeRange{start: end.Add(-da), end: end, set: true}, nil
	}
	start, err := parseInstant(a)
	if err != nil {
		return timeRange{}, err
	}
	if db, err := parseISODuration(b); err == nil {
		return timeRange{start: start, end: start.Add(db), set: true}, nil
	}
	end, err := parseInstant(b)
	if err != nil {
		return timeRange{}, err
	}
	if end.Before(start) {
		return timeRange{}, errors.New("timespan ends before it starts")
	}
	return timeRange{start: start, end: end, set: true}, nil
}
