package web

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/team"
)

// waitStarted waits until the hub knows where the timeline stands, so that
// changes made afterwards are seen.
func waitStarted(t *testing.T, h *hub) {
	t.Helper()
	select {
	case <-h.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the live-update hub did not start")
	}
}

// next waits for the subscriber's next event.
func next(t *testing.T, sub *subscriber) liveEvent {
	t.Helper()
	select {
	case <-sub.ready:
		ev, ok := sub.take()
		if !ok {
			t.Fatal("ready without an event")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return liveEvent{}
}

// quiet asserts the subscriber has nothing waiting. Call it after another
// subscriber got the same batch: the hub offers a batch to all at once.
func quiet(t *testing.T, sub *subscriber, why string) {
	t.Helper()
	if ev, ok := sub.take(); ok {
		t.Fatalf("%s: got %+v", why, ev)
	}
}

func TestHubTellsEachSubscriberOnlyOfTeamsItSees(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		sec := h.secondTeam("Sec")
		hb := h.web.live
		waitStarted(t, hb)
		ops, err := hb.subscribe("u-ops", "", []string{h.team.ID})
		if err != nil {
			t.Fatal(err)
		}
		secSub, _ := hb.subscribe("u-sec", "", []string{sec.ID})
		all, _ := hb.subscribe("u-admin", "", nil)
		a := h.inboxAlert(h.team, "Ops alert", "high")
		hb.poke()
		if ev := next(t, ops); !slices.Contains(ev.Alerts, a.ID) || !slices.Equal(ev.Teams, []string{h.team.ID}) {
			t.Fatalf("the Ops subscriber got %+v", ev)
		}
		if ev := next(t, all); !slices.Contains(ev.Alerts, a.ID) {
			t.Fatalf("the all-teams subscriber got %+v", ev)
		}
		quiet(t, secSub, "the Sec subscriber heard of an Ops alert")
		one, _ := hb.subscribe("u-ops", a.ID, []string{h.team.ID})

		b := h.inboxAlert(sec, "Sec alert", "high")
		h.act(a, "acknowledge")
		hb.poke()
		if ev := next(t, secSub); !slices.Equal(ev.Alerts, []string{b.ID}) {
			t.Fatalf("the Sec subscriber got %+v", ev)
		}
		if ev := next(t, ops); slices.Contains(ev.Alerts, b.ID) || !slices.Contains(ev.Alerts, a.ID) {
			t.Fatalf("the Ops subscriber got %+v", ev)
		}
		if ev := next(t, one); !slices.Equal(ev.Alerts, []string{a.ID}) {
			t.Fatalf("the one-alert subscriber got %+v", ev)
		}
		// Roles change while a stream is open.
		ops.setTeams([]string{})
		h.act(a, "close")
		hb.poke()
		next(t, one)
		quiet(t, ops, "a subscriber that left the team still hears of it")
	})
}

func TestHubSeesChangesMadeByAnotherInstance(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		// A second instance on the same database, never poked: it finds
		// the change by polling.
		other := newHub(h.db, h.clock, slog.New(slog.DiscardHandler))
		other.every = 20 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go other.run(ctx)
		waitStarted(t, other)
		sub, err := other.subscribe("u", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		a := h.inboxAlert(h.team, "Made elsewhere", "high")
		if ev := next(t, sub); !slices.Contains(ev.Alerts, a.ID) {
			t.Fatalf("got %+v", ev)
		}
	})
}

func TestHubCapsStreamsAndStops(t *testing.T) {
	h := sqliteHarness(t)
	hb := newHub(h.db, h.clock, nil)
	var subs []*subscriber
	for range liveMaxPerUser {
		s, err := hb.subscribe("u", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if _, err := hb.subscribe("u", "", nil); !errors.Is(err, errTooManyStreams) {
		t.Fatalf("stream %d: %v, want refused", liveMaxPerUser+1, err)
	}
	if _, err := hb.subscribe("someone else", "", nil); err != nil {
		t.Fatalf("another user's stream: %v", err)
	}
	hb.unsubscribe(subs[0])
	hb.unsubscribe(subs[0])
	if _, err := hb.subscribe("u", "", nil); err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go hb.run(ctx)
	cancel()
	select {
	case <-hb.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the hub did not stop")
	}
	if _, err := hb.subscribe("new", "", nil); !errors.Is(err, errHubStopped) {
		t.Fatalf("subscribe after stop: %v", err)
	}
}

func TestSubscriberCoalescesABurst(t *testing.T) {
	s := &subscriber{ready: make(chan struct{}, 1), pending: map[string]string{}}
	var burst []change
	for i := range livePendingMax + 5 {
		burst = append(burst, change{alertID: "a" + string(rune('A'+i%26)) + strings.Repeat("x", i), teamID: "t"})
	}
	s.offer(burst[:3])
	s.offer(burst[:3])
	ev, _ := s.take()
	if len(ev.Alerts) != 3 || ev.More {
		t.Fatalf("three changes twice: %+v", ev)
	}
	s.offer(burst)
	if ev, _ := s.take(); len(ev.Alerts) != livePendingMax || !ev.More {
		t.Fatalf("a burst: %d alerts, more=%v", len(ev.Alerts), ev.More)
	}
}

// sse reads a server-sent event stream.
type sse struct {
	resp *http.Response
	rd   *bufio.Reader
}

func (c *client) stream(ctx context.Context, path string) (*sse, int) {
	c.h.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.h.srv.URL+path, nil)
	if err != nil {
		c.h.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	c.h.t.Cleanup(func() { resp.Body.Close() })
	return &sse{resp: resp, rd: bufio.NewReader(resp.Body)}, resp.StatusCode
}

// event reads up to the next blank line and returns the event's lines.
func (s *sse) event(t *testing.T) []string {
	t.Helper()
	var lines []string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream after %q: %v", lines, err)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" {
			return lines
		}
		lines = append(lines, line)
	}
}

// until reads events until one has a line containing want, failing if an
// event before it mentions any of never.
func (s *sse) until(t *testing.T, want string, never ...string) []string {
	t.Helper()
	for {
		ev := s.event(t)
		all := strings.Join(ev, "\n")
		for _, n := range never {
			if strings.Contains(all, n) {
				t.Fatalf("the stream told of %s: %s", n, all)
			}
		}
		if strings.Contains(all, want) {
			return ev
		}
	}
}

func TestInboxStreamTellsOfMyTeamsChangesOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		sec := h.secondTeam("Sec")
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		waitStarted(t, h.web.live)
		c := h.login("ann@example.com")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, status := c.stream(ctx, "/inbox/stream")
		if status != http.StatusOK {
			t.Fatalf("stream: %d", status)
		}
		if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		if first := s.event(t); !slices.Contains(first, ": connected") {
			t.Fatalf("first event %q", first)
		}
		theirs := h.inboxAlert(sec, "Sec alert", "high")
		h.web.Notify()
		mine := h.inboxAlert(h.team, "Ops alert", "high")
		h.web.Notify()
		ev := s.until(t, mine.ID, theirs.ID)
		if !slices.Contains(ev, "event: change") {
			t.Fatalf("event %q is not a change", ev)
		}
		// An action through the web app wakes the stream too.
		if p := c.post("/alerts/"+mine.ID+"/acknowledge", nil); p.status != http.StatusSeeOther {
			t.Fatalf("acknowledge: %d", p.status)
		}
		s.until(t, mine.ID, theirs.ID)
	})
}

func TestAlertStreamTellsOfThatAlertOnly(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	waitStarted(t, h.web.live)
	a := h.inboxAlert(h.team, "Watched", "high")
	b := h.inboxAlert(h.team, "Other", "high")
	c := h.login("ann@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, status := c.stream(ctx, "/alerts/"+a.ID+"/stream")
	if status != http.StatusOK {
		t.Fatalf("stream: %d", status)
	}
	s.event(t)
	h.act(b, "acknowledge")
	h.web.Notify()
	c.post("/alerts/"+a.ID+"/annotate", map[string][]string{"text": {"on it"}})
	s.until(t, a.ID, b.ID)
}

func TestStreamEndsWhenTheSessionEnds(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	h.web.live.heartbeat.Store(int64(50 * time.Millisecond))
	c := h.login("ann@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, _ := c.stream(ctx, "/inbox/stream")
	s.event(t)
	if ev := s.event(t); !slices.Contains(ev, ": heartbeat") {
		t.Fatalf("expected a heartbeat, got %q", ev)
	}
	h.login("ann@example.com").post("/logout-everywhere", nil)
	s.until(t, "event: signedout")
}

func TestStreamsPerUserAreCapped(t *testing.T) {
	h := sqliteHarness(t)
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	for range liveMaxPerUser {
		if _, err := h.web.live.subscribe(ann.ID, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, status := h.login("ann@example.com").stream(ctx, "/inbox/stream"); status != http.StatusTooManyRequests {
		t.Fatalf("one stream too many answered %d, want 429", status)
	}
}
