package web

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// What the alert page shows beside the alert and its timeline: who
// acknowledged, each message sent, and the incident it is linked to. These
// are read-only views over the engine's and the connectors' tables, one
// query each, whatever the number of rows.

// ackItem is one member's acknowledgement of an alert that needs several.
type ackItem struct {
	UserID, Name string
	At           time.Time
}

func (s *Server) alertAcks(ctx context.Context, alertID string) ([]ackItem, error) {
	rows, err := s.cfg.DB.Query(ctx, `SELECT k.user_id, COALESCE(NULLIF(u.name, ''), u.email, 'a former member'), k.at
		FROM alert_acks k LEFT JOIN users u ON u.id = k.user_id WHERE k.alert_id = ? ORDER BY k.at`, alertID)
	if err != nil {
		return nil, fmt.Errorf("read acknowledgements: %w", err)
	}
	defer rows.Close()
	var out []ackItem
	for rows.Next() {
		var a ackItem
		var at int64
		if err := rows.Scan(&a.UserID, &a.Name, &at); err != nil {
			return nil, fmt.Errorf("read acknowledgements: %w", err)
		}
		a.At = store.FromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// deliveryItem is one planned or sent message. The address is left out on
// purpose: teammates see that someone was reached, not their phone number.
type deliveryItem struct {
	Who, Channel, Kind string
	Round              int
	Status             string // pending, sending, sent, failed, cancelled
	Delivery           string // what the provider reported after sending
	Error              string
	Due                time.Time
	Sent, DeliveredAt  *time.Time
}

// maxDeliveries bounds the table on an alert that was repeated for days.
const maxDeliveries = 200

func (s *Server) alertDeliveries(ctx context.Context, alertID string) ([]deliveryItem, error) {
	rows, err := s.cfg.DB.Query(ctx, `SELECT COALESCE(NULLIF(u.name, ''), u.email, 'a former member'), n.channel, n.kind, n.round, n.status,
		n.delivery, n.last_error, n.due_at, n.sent_at, n.delivery_at
		FROM notifications n LEFT JOIN users u ON u.id = n.user_id WHERE n.alert_id = ? ORDER BY n.due_at, n.id LIMIT ?`, alertID, maxDeliveries)
	if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	defer rows.Close()
	var out []deliveryItem
	for rows.Next() {
		var d deliveryItem
		var due int64
		var sent, delivered *int64
		if err := rows.Scan(&d.Who, &d.Channel, &d.Kind, &d.Round, &d.Status, &d.Delivery, &d.Error, &due, &sent, &delivered); err != nil {
			return nil, fmt.Errorf("read notifications: %w", err)
		}
		d.Due, d.Sent, d.DeliveredAt = store.FromMicros(due), store.OptTime(sent), store.OptTime(delivered)
		out = append(out, d)
	}
	return out, rows.Err()
}

// incidentLink is the external incident (or alert) a connector opened this
// alert for.
type incidentLink struct {
	ConnectorID, Connector, Source string
	ExternalID, Group              string
	RemoteStatus, RemoteOwner      string
	// Portal is the link to the incident, from the alert's parameters.
	Portal string
	// Write-backs of responders' actions to the incident, by status.
	Pending, Sent, Failed int
	LastError             string
}

// SourceLabel names what the connector reads.
func (l incidentLink) SourceLabel() string {
	switch l.Source {
	case "sentinel":
		return "Microsoft Sentinel incident"
	case "graph_incidents":
		return "Microsoft Defender incident (Graph security)"
	case "graph_alerts":
		return "Graph security alert"
	case "graph_legacy":
		return "Graph security alert (legacy API)"
	}
	return l.Source
}

func (s *Server) alertLinks(ctx context.Context, alertID string) ([]incidentLink, error) {
	rows, err := s.cfg.DB.Query(ctx, `SELECT c.id, c.name, c.source, i.external_id, i.group_id, i.remote_status, i.remote_owner
		FROM connector_items i JOIN connectors c ON c.id = i.connector_id WHERE i.alert_id = ? ORDER BY c.name`, alertID)
	if err != nil {
		return nil, fmt.Errorf("read linked incidents: %w", err)
	}
	defer rows.Close()
	var out []incidentLink
	for rows.Next() {
		var l incidentLink
		if err := rows.Scan(&l.ConnectorID, &l.Connector, &l.Source, &l.ExternalID, &l.Group, &l.RemoteStatus, &l.RemoteOwner); err != nil {
			return nil, fmt.Errorf("read linked incidents: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// writeback is one responder action (or lifecycle step) written back to a
// linked incident, for the timeline.
type writeback struct {
	ConnectorID, Connector, Kind string
	Status, Error                string
	Created                      time.Time
	Sent                         *time.Time
}

func (s *Server) alertWritebacks(ctx context.Context, alertID string) ([]writeback, error) {
	// Reached through the alert's links and timeline rows, so every step
	// is an index look-up however large the outbox grows.
	rows, err := s.cfg.DB.Query(ctx, `SELECT c.id, c.name, w.kind, w.status, w.last_error, w.created_at, w.sent_at
		FROM connector_items i JOIN connectors c ON c.id = i.connector_id
		JOIN timeline t ON t.alert_id = i.alert_id
		JOIN connector_writebacks w ON w.connector_id = i.connector_id AND w.timeline_id = t.id
		WHERE i.alert_id = ? ORDER BY t.id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("read write-backs: %w", err)
	}
	defer rows.Close()
	var out []writeback
	for rows.Next() {
		var wb writeback
		var created int64
		var sent *int64
		if err := rows.Scan(&wb.ConnectorID, &wb.Connector, &wb.Kind, &wb.Status, &wb.Error, &created, &sent); err != nil {
			return nil, fmt.Errorf("read write-backs: %w", err)
		}
		wb.Created, wb.Sent = store.FromMicros(created), store.OptTime(sent)
		out = append(out, wb)
	}
	return out, rows.Err()
}
