package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP layer's Prometheus series. Labels are route patterns,
// never paths: a path can hold a team secret.
type metrics struct {
	requests *prometheus.HistogramVec
	events   *prometheus.CounterVec
	handler  http.Handler
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lastmile_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lastmile_inbound_events_total",
			Help: "Inbound events stored, by source (webhook, api) and what became of them (created, updated, discarded, filtered, rejected).",
		}, []string{"source", "status"}),
	}
	reg.MustRegister(m.requests, m.events)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}
