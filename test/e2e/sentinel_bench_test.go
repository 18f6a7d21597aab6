package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// BenchmarkSentinelIncidentsToAlerts measures one poll that finds 1,000
// new incidents with 5 linked alerts each: from asking for the poll to
// the 1,000th alert, on the wall clock. s-from-list leaves out the wait
// for the runner's next one-second tick (it starts at the first list
// call's answer).
func BenchmarkSentinelIncidentsToAlerts(b *testing.B) {
	const incidents, linked = 1000, 5
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			for b.Loop() {
				incidentsToAlerts(b, d, incidents, linked)
			}
		})
	}
}

// incidentsToAlerts is one run of BenchmarkSentinelIncidentsToAlerts, out
// of the b.Loop body (whose special compilation the toolchain chokes on).
func incidentsToAlerts(b *testing.B, d store.Dialect, incidents, linked int) {
	b.StopTimer()
	e := startSentinel(b, d, sentinelOptions{})
	begun := e.now()
	// An hour between polls: only the poll asked for runs.
	cid := e.addConnector(e.teamID, "Sentinel", 3600, e.settings(e.ws, clientID, "app-secret"))
	sentinelWait(b, 30*time.Second, "the first, empty poll", func() bool { return e.polledSince(e.teamID, cid, begun) })
	for i := range incidents {
		inc := azureemu.Incident{Title: fmt.Sprintf("Suspicious sign-ins %d", i), Description: "Several risky sign-ins for one account",
			Severity: []string{"High", "Medium", "Low"}[i%3], Tactics: []string{"InitialAccess", "CredentialAccess"}}
		for j := range linked {
			inc.Alerts = append(inc.Alerts, azureemu.Alert{DisplayName: fmt.Sprintf("Risky sign-in %d.%d", i, j),
				CompromisedEntity: fmt.Sprintf("user%d@contoso.com", i), Tactics: []string{"InitialAccess"}})
		}
		if _, err := e.emu.AddIncident(wsName, inc); err != nil {
			b.Fatal(err)
		}
	}
	seeded := len(e.emu.Requests())
	ctx := context.Background()
	count := func() int {
		var n int
		if err := e.a.DB.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE team_id = ?`, e.teamID).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}

	b.StartTimer()
	asked := time.Now()
	e.api(e.key, "POST", "/api/v1/teams/"+e.teamID+"/connectors/"+cid+"/poll", nil, 202)
	deadline := asked.Add(5 * time.Minute)
	for count() < incidents {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d alerts after 5 minutes", count(), incidents)
		}
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Since(asked)
	b.StopTimer()
	reqs := e.emu.Requests()[seeded:]
	// The labels follow through the outbox, 100 a runner pass.
	for e.health(e.teamID, cid)["pendingWrites"] != float64(0) {
		if time.Now().After(asked.Add(5 * time.Minute)) {
			b.Fatalf("label write-backs not drained after 5 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	labelled := time.Since(asked)

	var firstList time.Time
	calls := map[string]int{}
	for _, r := range reqs {
		switch {
		case r.API == azureemu.APIEntra && strings.HasSuffix(r.Path, "/token"):
			calls["token"]++
		case r.API == azureemu.APIEntra:
			calls["entra-other"]++
		case r.Method == "GET" && strings.HasSuffix(r.Path, "/incidents"):
			calls["list"]++
			if firstList.IsZero() {
				firstList = r.Time
			}
		case strings.HasSuffix(r.Path, "/alerts"):
			calls["alerts"]++
		case strings.HasSuffix(r.Path, "/entities"):
			calls["entities"]++
		default:
			calls["other"]++
		}
	}
	fromList := total
	if !firstList.IsZero() {
		fromList = asked.Add(total).Sub(firstList)
	}
	b.ReportMetric(float64(incidents)/total.Seconds(), "incidents/s")
	b.ReportMetric(total.Seconds(), "s-total")
	b.ReportMetric(fromList.Seconds(), "s-from-list")
	b.ReportMetric(labelled.Seconds(), "s-labelled")
	b.Logf("%s: %d alerts in %.1f s (%.1f s from the first list call), all labelled after %.1f s; calls to Azure until the last alert: %v",
		d, incidents, total.Seconds(), fromList.Seconds(), labelled.Seconds(), calls)
	b.StartTimer() // b.Loop must find the timer running
}

// BenchmarkSentinelIncidentToNotification measures, one incident at a
// time, the wall time from an incident's creation in Sentinel to the
// first notification handed to the on-duty member's channel, with the
// connector polling every second. Each incident is created at a random
// moment up to two seconds after the previous notification, so creations
// do not fall in step with the runner's one-second tick. The latency is
// split at the alert's creation (poll part, engine part), and the polls
// are counted to give the actual time between polls.
func BenchmarkSentinelIncidentToNotification(b *testing.B) {
	const samples = 60
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			ch := signal{got: make(chan notify.Message, 64)}
			e := startSentinel(b, d, sentinelOptions{channels: []notify.Channel{ch}, onDuty: true})
			begun := e.now()
			cid := e.addConnector(e.teamID, "Sentinel", 1, e.settings(e.ws, clientID, "app-secret"))
			sentinelWait(b, 30*time.Second, "the first poll", func() bool { return e.polledSince(e.teamID, cid, begun) })
			var s notifySamples
			for b.Loop() {
				s = incidentsToNotifications(b, e, ch, samples)
			}
			s.report(b, d)
		})
	}
}

// notifySamples are the measurements of one benchmark run.
type notifySamples struct {
	total, poll, engine  []time.Duration
	elapsed              time.Duration
	polls, tokens, entra int
}

func incidentsToNotifications(b *testing.B, e *sentinelEnv, ch signal, samples int) notifySamples {
	var s notifySamples
	ctx := context.Background()
	before := len(e.emu.Requests())
	started := time.Now()
	for i := range samples {
		b.StopTimer()
		time.Sleep(rand.N(2 * time.Second)) // a random phase against the tick, not synchronisation
		title := fmt.Sprintf("Impossible travel %d", i)
		b.StartTimer()
		created := time.Now()
		inc, err := e.emu.AddIncident(wsName, azureemu.Incident{Title: title, Severity: "High"})
		if err != nil {
			b.Fatal(err)
		}
		if !awaitTitle(ch, title, 30*time.Second) {
			b.Fatalf("no notification for %q in 30 s", title)
		}
		notified := time.Now()
		var opened int64
		if err := e.a.DB.QueryRow(ctx, `SELECT created_at FROM alerts WHERE team_id = ? AND external_id = ?`, e.teamID, inc.Name).Scan(&opened); err != nil {
			b.Fatal(err)
		}
		at := store.FromMicros(opened)
		s.total = append(s.total, notified.Sub(created))
		s.poll = append(s.poll, at.Sub(created))
		s.engine = append(s.engine, notified.Sub(at))
	}
	s.elapsed = time.Since(started)
	for _, r := range e.emu.Requests()[before:] {
		switch {
		case r.API == azureemu.APIEntra:
			s.entra++
			if strings.HasSuffix(r.Path, "/token") {
				s.tokens++
			}
		case r.Method == "GET" && strings.HasSuffix(r.Path, "/incidents"):
			s.polls++
		}
	}
	return s
}

func (s notifySamples) report(b *testing.B, d store.Dialect) {
	if len(s.total) == 0 {
		b.Fatal("no samples")
	}
	for _, l := range [][]time.Duration{s.total, s.poll, s.engine} {
		slices.Sort(l)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(l []time.Duration, f float64) time.Duration { return l[int(float64(len(l)-1)*f)] }
	b.ReportMetric(ms(q(s.total, 0.5)), "p50-ms")
	b.ReportMetric(ms(q(s.total, 0.99)), "p99-ms")
	b.ReportMetric(ms(s.total[len(s.total)-1]), "max-ms")
	period := s.elapsed / time.Duration(max(s.polls, 1))
	b.ReportMetric(period.Seconds(), "s-between-polls")
	b.Logf("%s: %d incidents; creation→notification min %v p50 %v p99 %v max %v; creation→alert p50 %v max %v; alert→notification p50 %v max %v; "+
		"%d polls in %.0f s (one every %.2f s); %d requests to Entra, %d of them for tokens",
		d, len(s.total), s.total[0], q(s.total, 0.5), q(s.total, 0.99), s.total[len(s.total)-1], q(s.poll, 0.5), s.poll[len(s.poll)-1],
		q(s.engine, 0.5), s.engine[len(s.engine)-1], s.polls, s.elapsed.Seconds(), period.Seconds(), s.entra, s.tokens)
}

// awaitTitle waits for the message about title, dropping others.
func awaitTitle(ch signal, title string, within time.Duration) bool {
	timeout := time.After(within)
	for {
		select {
		case m := <-ch.got:
			if m.Title == title {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// BenchmarkSentinelPushToNotification measures what push is for: from an
// incident created in Sentinel, through the playbook's post of the
// incident trigger to the push URL, to the first notification handed to
// the on-duty member's channel. The connector polls only once an hour, so
// every alert comes by push.
func BenchmarkSentinelPushToNotification(b *testing.B) {
	const samples = 60
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			ch := signal{got: make(chan notify.Message, 64)}
			e := startSentinel(b, d, sentinelOptions{channels: []notify.Channel{ch}, onDuty: true})
			begun := e.now()
			cid := e.addConnector(e.teamID, "Sentinel", 3600, e.settings(e.ws, clientID, "app-secret"))
			sentinelWait(b, 30*time.Second, "the first poll", func() bool { return e.polledSince(e.teamID, cid, begun) })
			push := e.api(e.key, "POST", "/api/v1/teams/"+e.teamID+"/connectors/"+cid+"/push-secret", nil, 200)
			url, _ := push["pushUrl"].(string)
			if url == "" {
				b.Fatalf("no push URL: %v", push)
			}
			var total, answered []time.Duration
			for b.Loop() {
				total, answered = total[:0], answered[:0]
				for i := range samples {
					title := fmt.Sprintf("Pushed incident %d", i)
					created := time.Now()
					inc, err := e.emu.AddIncident(wsName, azureemu.Incident{Title: title, Severity: "High"})
					if err != nil {
						b.Fatal(err)
					}
					status, body, err := e.emu.PushIncident(context.Background(), nil, url, inc.Name)
					if err != nil || status != 200 || !strings.Contains(string(body), `"created"`) {
						b.Fatalf("push: %d %s %v", status, body, err)
					}
					answered = append(answered, time.Since(created))
					if !awaitTitle(ch, title, 30*time.Second) {
						b.Fatalf("no notification for %q in 30 s", title)
					}
					total = append(total, time.Since(created))
				}
			}
			slices.Sort(total)
			slices.Sort(answered)
			q := func(s []time.Duration, p float64) time.Duration { return s[int(p*float64(len(s)-1))] }
			b.ReportMetric(float64(q(total, .5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(q(total, .99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(q(answered, .5).Microseconds())/1000, "push-answer-p50-ms")
			b.Logf("%s: incident → notification by push: p50 %v, p99 %v, max %v; the push answered (alert open) p50 %v, max %v",
				d, q(total, .5), q(total, .99), total[len(total)-1], q(answered, .5), answered[len(answered)-1])
		})
	}
}
