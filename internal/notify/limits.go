package notify

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rate is at most N messages per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// Limits are the most messages one contact method (one phone number, one
// mailbox, one device) is sent per window, by channel. They protect people
// and budgets from a flapping source: messages over a limit wait, and
// messages waiting for one address go out together as one bundle.
type Limits map[string][]Rate

// DefaultLimits follow GoAlert's long-tested numbers for SMS and voice and
// are looser for channels that cost nothing per message.
func DefaultLimits() Limits {
	return Limits{
		"sms":   {{1, time.Minute}, {5, 15 * time.Minute}, {11, time.Hour}},
		"voice": {{1, time.Minute}, {3, 15 * time.Minute}, {7, time.Hour}},
		"email": {{2, time.Minute}, {10, 15 * time.Minute}, {30, time.Hour}},
		"push":  {{10, time.Minute}, {60, time.Hour}},
		"ntfy":  {{10, time.Minute}, {60, time.Hour}},
		"slack": {{20, time.Minute}},
		"teams": {{20, time.Minute}},
	}
}

// Bundles reports whether several alerts waiting for one address on
// channel go out as one message. Chat, push and webhooks keep one message
// per alert, since each carries its own buttons.
func Bundles(channel string) bool {
	return channel == "sms" || channel == "voice" || channel == "email"
}

// ParseLimits reads limits written as "sms=1/1m,5/15m;voice=1/1m": each
// channel named replaces its defaults; "push=" removes push's limits.
func ParseLimits(s string) (Limits, error) {
	l := DefaultLimits()
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ch, rates, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("channel limits %q: write CHANNEL=N/DURATION,…", part)
		}
		ch = strings.TrimSpace(ch)
		var rs []Rate
		for _, r := range strings.Split(rates, ",") {
			r = strings.TrimSpace(r)
			if r == "" {
				continue
			}
			n, per, ok := strings.Cut(r, "/")
			cnt, err1 := strconv.Atoi(n)
			d, err2 := time.ParseDuration(per)
			if !ok || err1 != nil || err2 != nil || cnt < 1 || d < time.Second {
				return nil, fmt.Errorf("channel limits %s: %q must be COUNT/DURATION, e.g. 5/15m", ch, r)
			}
			rs = append(rs, Rate{cnt, d})
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Per < rs[j].Per })
		l[ch] = rs
	}
	return l, nil
}

// Longest is the longest window of any limit.
func (l Limits) Longest() time.Duration {
	var m time.Duration
	for _, rs := range l {
		for _, r := range rs {
			m = max(m, r.Per)
		}
	}
	return m
}

// String writes the limits the way ParseLimits reads them.
func (l Limits) String() string {
	var names []string
	for ch := range l {
		names = append(names, ch)
	}
	sort.Strings(names)
	var parts []string
	for _, ch := range names {
		var rs []string
		for _, r := range l[ch] {
			rs = append(rs, fmt.Sprintf("%d/%s", r.N, strings.TrimSuffix(strings.TrimSuffix(r.Per.String(), "0s"), "0m")))
		}
		parts = append(parts, ch+"="+strings.Join(rs, ","))
	}
	return strings.Join(parts, ";")
}
