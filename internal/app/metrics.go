package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// appMetrics is the instance's Prometheus registry (no global one: two apps
// in one test process must not share series) and the store's series.
type appMetrics struct {
	reg        *prometheus.Registry
	batchSize  prometheus.Histogram
	commitTime prometheus.Histogram
}

func newMetrics() *appMetrics {
	m := &appMetrics{
		reg: prometheus.NewRegistry(),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lastmile_store_batch_size",
			Help:    "Inbound events written per group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lastmile_store_batch_seconds",
			Help:    "Time to write and commit one group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
	}
	m.reg.MustRegister(m.batchSize, m.commitTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *appMetrics) observeCommit(size int, took time.Duration) {
	m.batchSize.Observe(float64(size))
	m.commitTime.Observe(took.Seconds())
}
