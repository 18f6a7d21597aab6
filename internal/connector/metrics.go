package connector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastmile/lastmile/internal/store"
)

// Collector exposes every connector's health as Prometheus series, read
// from the database at scrape time, so all instances report the same
// figures whichever one polled.
type Collector struct {
	svc                                                         *Service
	up, lastSuccess, lag, read, created, written, errs, pending *prometheus.Desc
}

// NewCollector returns the collector.
func NewCollector(svc *Service) *Collector {
	l := []string{"team_id", "connector_id", "connector", "source"}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("lastmile_connector_"+name, help, l, nil)
	}
	return &Collector{svc: svc,
		up:          d("up", "1 if the connector's last poll succeeded, 0 if it failed."),
		lastSuccess: d("last_success_timestamp_seconds", "When the connector last read its source successfully."),
		lag:         d("lag_seconds", "Seconds since the connector last read its source successfully."),
		read:        d("items_read_total", "Incidents and alerts read from the source."),
		created:     d("alerts_created_total", "Alerts the connector opened."),
		written:     d("writebacks_total", "Responders' actions written back to the source."),
		errs:        d("writeback_errors_total", "Write-backs that failed (each retry counts)."),
		pending:     d("writebacks_pending", "Responders' actions waiting to be written back."),
	}
}

// Describe sends the descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.lastSuccess, c.lag, c.read, c.created, c.written, c.errs, c.pending} {
		ch <- d
	}
}

// Collect reads the connectors' health.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.svc.db.Query(ctx, `SELECT id, team_id, name, source, last_success_at, last_error, read_count, created_count, written_count, write_errors,
		(SELECT COUNT(*) FROM connector_writebacks w WHERE w.connector_id = connectors.id AND w.status IN ('pending', 'sending'))
		FROM connectors`)
	if err != nil {
		return
	}
	defer rows.Close()
	now := c.svc.clock.Now()
	for rows.Next() {
		var id, teamID, name, source, lastErr string
		var success *int64
		var read, created, written, errs, pending float64
		if err := rows.Scan(&id, &teamID, &name, &source, &success, &lastErr, &read, &created, &written, &errs, &pending); err != nil {
			return
		}
		l := []string{teamID, id, name, source}
		up := 1.0
		if lastErr != "" {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, l...)
		if success != nil {
			at := store.FromMicros(*success)
			ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(at.UnixMilli())/1000, l...)
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, now.Sub(at).Seconds(), l...)
		}
		ch <- prometheus.MustNewConstMetric(c.read, prometheus.CounterValue, read, l...)
		ch <- prometheus.MustNewConstMetric(c.created, prometheus.CounterValue, created, l...)
		ch <- prometheus.MustNewConstMetric(c.written, prometheus.CounterValue, written, l...)
		ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, errs, l...)
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, pending, l...)
	}
}
