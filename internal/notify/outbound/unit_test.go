package outbound

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

func TestBackoff(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second,
		320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, time.Hour, time.Hour}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := backoff(64); got != time.Hour {
		t.Errorf("backoff(64) = %s", got)
	}
}

func TestFormatTime(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2017, 9, 1, 8, 11, 37, 481566300, time.UTC), "2017-09-01T08:11:37.4815663Z"},
		{time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), "2026-03-02T09:00:00.0000000Z"},
		{time.Date(2026, 3, 2, 10, 0, 0, 120000, time.FixedZone("CET", 3600)), "2026-03-02T09:00:00.0001200Z"},
	} {
		if got := FormatTime(tc.in); got != tc.want {
			t.Errorf("FormatTime(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestEventID(t *testing.T) {
	a := eventID("team-1", "timeline", "42")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("event id %q is not a version 5 UUID", a)
	}
	if eventID("team-1", "timeline", "42") != a {
		t.Error("event id is not stable")
	}
	for _, other := range []string{eventID("team-2", "timeline", "42"), eventID("team-1", "duty", "42"), eventID("team-1", "timeline", "43")} {
		if other == a {
			t.Errorf("distinct events share id %s", a)
		}
	}
}

func TestPartialAck(t *testing.T) {
	for text, want := range map[string]bool{
		"acknowledgement 1 of 3":          true,
		"acknowledgement 2 of 3: on site": true,
		"acknowledgement 3 of 3":          false,
		"":                                false,
		"on my way":                       false,
	} {
		if got := partialAck(text); got != want {
			t.Errorf("partialAck(%q) = %v", text, got)
		}
	}
}

func TestReplay(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := func(id int64, kind, actor, text string) entry {
		typ := "user"
		if actor == "" {
			typ = "event"
		}
		return entry{id: id, at: store.Micros(t0.Add(time.Duration(id) * time.Second)), kind: kind, actorType: typ, actorID: actor, text: text}
	}
	history := []entry{
		e(1, "created", "", ""),
		e(2, "acknowledged", "ann", "acknowledgement 1 of 2"),
		e(3, "acknowledged", "bob", ""),
		e(5, "closed", "bob", ""),
		e(6, "reopened", "bob", ""),
		e(7, "unacknowledged", "ann", ""),
		e(8, "acknowledged", "", ""), // by an inbound event
		e(9, "closed", "", ""),
	}
	cases := []struct {
		upto   int64
		code   int
		ackers string
		acked  int64 // seconds after t0; 0: none
		closed int64
	}{
		{1, StatusNew, "[]", 0, 0},
		{2, StatusNew, "[ann]", 0, 0},
		{3, StatusAcknowledged, "[ann bob]", 3, 0},
		{4, StatusAcknowledged, "[ann bob]", 3, 0}, // an annotation between
		{5, StatusClosed, "[ann bob]", 3, 5},
		{6, StatusAcknowledged, "[ann bob]", 3, 0},
		{7, StatusNew, "[]", 0, 0},
		{8, StatusAcknowledged, "[]", 8, 0},
		{9, StatusClosed, "[]", 8, 9},
	}
	for _, tc := range cases {
		st := replay(history, tc.upto)
		sec := func(p *time.Time) int64 {
			if p == nil {
				return 0
			}
			return int64(p.Sub(t0) / time.Second)
		}
		if st.code != tc.code || fmt.Sprint(st.ackers) != tc.ackers || sec(st.ackedAt) != tc.acked || sec(st.closedAt) != tc.closed {
			t.Errorf("after %d: code %d ackers %v acked %d closed %d; want %d %s %d %d",
				tc.upto, st.code, st.ackers, sec(st.ackedAt), sec(st.closedAt), tc.code, tc.ackers, tc.acked, tc.closed)
		}
	}
}
