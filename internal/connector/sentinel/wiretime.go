package sentinel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// flexTime decodes the timestamps Microsoft services send: RFC 3339 with
// up to 7 fractional digits (.NET ticks), sometimes without a zone (then
// UTC), and null or "" for none.
type flexTime struct{ t time.Time }

var wireTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

func (f *flexTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	if s == "" {
		return nil
	}
	t, err := parseWireTime(s)
	if err != nil {
		return err
	}
	f.t = t
	return nil
}

func parseWireTime(s string) (time.Time, error) {
	for _, l := range wireTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not an RFC 3339 timestamp", s)
}
