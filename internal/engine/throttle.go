package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
)

// target is one address on one channel.
type target struct{ channel, address string }

// throttle holds back messages to an address that has had its fill for a
// window (the limits count messages actually sent, a bundle once). A held
// message gets a due time when the limit allows again; by then more may be
// waiting, and they go out together.
func (e *Engine) throttle(ctx context.Context, outs []outcome, now time.Time) error {
	groups := map[target][]*outcome{}
	for i := range outs {
		o := &outs[i]
		if o.skip || o.held != "" || len(e.opt.Limits[o.m.Channel]) == 0 {
			continue
		}
		t := target{o.m.Channel, o.m.Address}
		groups[t] = append(groups[t], o)
	}
	if len(groups) == 0 {
		return nil
	}
	counts, err := e.sentCounts(ctx, groups, now)
	if err != nil {
		return err
	}
	for t, os := range groups {
		sort.SliceStable(os, func(i, j int) bool { return os[i].m.NotificationID < os[j].m.NotificationID })
		sent := counts[t]
		bundling := notify.Bundles(t.channel)
		for i, o := range os {
			if bundling && i > 0 && os[0].until.IsZero() {
				// Goes out in the first one's bundle: not a message of its own.
				continue
			}
			for k, r := range e.opt.Limits[t.channel] {
				if sent[k].n >= r.N {
					// When the oldest message in the window leaves it, the
					// count drops below the limit.
					o.until, o.limit = now.Add(r.Per/time.Duration(r.N)), r
					if !sent[k].oldest.IsZero() {
						o.until = sent[k].oldest.Add(r.Per)
					}
					break
				}
			}
			if o.until.IsZero() {
				for k := range sent {
					sent[k].n++
					if sent[k].oldest.IsZero() {
						sent[k].oldest = now
					}
				}
			} else if bundling {
				// The whole group waits for the same moment.
				for _, w := range os[1:] {
					w.until, w.limit = o.until, o.limit
				}
				break
			}
		}
	}
	return nil
}

// window is how many messages a target was sent within one limit's
// window, and when the oldest of them was sent.
type window struct {
	n      int
	oldest time.Time
}

// sentCounts counts, per target, the messages sent within each of the
// channel's limit windows, in one query.
func (e *Engine) sentCounts(ctx context.Context, groups map[target][]*outcome, now time.Time) (map[target][]window, error) {
	windows := map[time.Duration]bool{}
	var addrs []string
	seen := map[string]bool{}
	for t := range groups {
		for _, r := range e.opt.Limits[t.channel] {
			windows[r.Per] = true
		}
		if !seen[t.address] {
			seen[t.address] = true
			addrs = append(addrs, t.address)
		}
	}
	var ws []time.Duration
	for w := range windows {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	var cols []string
	var args []any
	// A message sent exactly one window ago has left the window.
	for _, w := range ws {
		cols = append(cols, "SUM(CASE WHEN sent_at > ? THEN 1 ELSE 0 END)", "MIN(CASE WHEN sent_at > ? THEN sent_at END)")
		args = append(args, store.Micros(now.Add(-w)), store.Micros(now.Add(-w)))
	}
	args = append(args, store.Micros(now.Add(-ws[len(ws)-1])))
	args = append(args, store.Args(addrs)...)
	rows, err := e.db.Query(ctx, `SELECT channel, address, `+strings.Join(cols, ", ")+` FROM notifications
		WHERE status = 'sent' AND bundled_into = '' AND sent_at >= ? AND address IN (`+store.Placeholders(len(addrs))+`) GROUP BY channel, address`, args...)
	if err != nil {
		return nil, fmt.Errorf("count recent messages: %w", err)
	}
	defer rows.Close()
	byWindow := map[target]map[time.Duration]window{}
	for rows.Next() {
		var t target
		n := make([]int64, len(ws))
		oldest := make([]*int64, len(ws))
		dst := []any{&t.channel, &t.address}
		for i := range n {
			dst = append(dst, &n[i], &oldest[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		m := map[time.Duration]window{}
		for i, w := range ws {
			m[w] = window{n: int(n[i])}
			if oldest[i] != nil {
				m[w] = window{n: int(n[i]), oldest: store.FromMicros(*oldest[i])}
			}
		}
		byWindow[t] = m
	}
	out := map[target][]window{}
	for t := range groups {
		rs := e.opt.Limits[t.channel]
		c := make([]window, len(rs))
		for k, r := range rs {
			c[k] = byWindow[t][r.Per]
		}
		out[t] = c
	}
	return out, rows.Err()
}

// bundle turns several alerts waiting for one address on a bundling
// channel into one message ("3 new alerts in team Ops"), carried by the
// first; the others are recorded as sent within it.
func bundle(outs []outcome) {
	groups := map[target][]*outcome{}
	var order []target
	for i := range outs {
		o := &outs[i]
		if !o.sendable() || !notify.Bundles(o.m.Channel) {
			continue
		}
		t := target{o.m.Channel, o.m.Address}
		if groups[t] == nil {
			order = append(order, t)
		}
		groups[t] = append(groups[t], o)
	}
	for _, t := range order {
		os := groups[t]
		alerts := map[string]bool{}
		for _, o := range os {
			alerts[o.m.AlertID] = true
		}
		if len(alerts) < 2 {
			// Several members share this address (a team phone): one
			// message for the alert reaches them all.
			for _, o := range os[1:] {
				o.carrier = os[0].m.NotificationID
			}
			continue
		}
		c := os[0]
		seen := map[string]bool{}
		var teams []string
		for _, o := range os {
			if !seen[o.m.AlertID] {
				seen[o.m.AlertID] = true
				c.m.Bundle = append(c.m.Bundle, notify.AlertRef{ID: o.m.AlertID, Title: o.m.Title, Severity: o.m.Severity})
			}
			if !seen["team:"+o.m.TeamName] {
				seen["team:"+o.m.TeamName] = true
				teams = append(teams, o.m.TeamName)
			}
			if o != c {
				o.carrier = c.m.NotificationID
			}
		}
		c.m.Kind = notify.KindBundle
		c.m.Title = fmt.Sprintf("%d new alerts in %s", len(c.m.Bundle), strings.Join(teams, ", "))
		var lines []string
		for _, b := range c.m.Bundle {
			lines = append(lines, b.Title)
		}
		c.m.Text = strings.Join(lines, "\n")
		c.m.Severity = highest(c.m.Bundle)
	}
}

var severityRank = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

func highest(rs []notify.AlertRef) string {
	best := ""
	for _, r := range rs {
		if severityRank[r.Severity] > severityRank[best] {
			best = r.Severity
		}
	}
	return best
}
