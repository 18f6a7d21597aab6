package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/team"
)

type alertPageData struct {
	Alert    alert.Alert
	TeamName string
	// Buttons valid for the alert's status (and, for acknowledging an
	// alert that needs several, whether this user already did).
	CanAck, CanUndoAck, CanClose, CanUndoClose, CanEscalate bool
	AckedByMe                                               bool
	Acks                                                    []ackItem
	Params                                                  []paramItem
	Map                                                     *mapLink
	Images, Files                                           []attachmentItem
	Tables                                                  []csvPreview
	Links                                                   []incidentLink
	Deliveries                                              []deliveryItem
	Timeline                                                []timelineItem
	Here, Refresh                                           string
}

// ScenarioLabel says in words how the alert is acknowledged.
func (d alertPageData) ScenarioLabel() string {
	switch d.Alert.Scenario {
	case team.ScenarioSingleAck:
		return "One acknowledgement ends it"
	case team.ScenarioMultiAck:
		return "Everyone on duty acknowledges"
	case team.ScenarioEmergency:
		return "Emergency: the whole team"
	}
	return d.Alert.Scenario
}

// attachmentItem is an attachment with its size in words.
type attachmentItem struct {
	alert.AttachmentInfo
	Bytes string
}

func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.0f kB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// paramItem is a parameter; URL is set when its value is a web link.
type paramItem struct {
	Name, Value, URL string
}

// mapLink points at the alert's location on a map.
type mapLink struct {
	URL   string
	Exact bool // coordinates, not a search for an address
}

// timelineItem is one line of the timeline as shown.
type timelineItem struct {
	At    time.Time
	Kind  string // the entry's kind, for styling
	Label string
	Actor string
	Text  string
}

// visibleAlertFor returns the alert if the user may see its team; others'
// alerts are "not found", the same answer as an alert that does not exist.
func (s *Server) visibleAlertFor(ctx context.Context, v *view, id string) (alert.Alert, error) {
	a, err := s.cfg.Alerts.Get(ctx, id)
	if err != nil {
		return alert.Alert{}, err
	}
	if !v.CanSee(a.TeamID) {
		return alert.Alert{}, notFound()
	}
	return a, nil
}

func (s *Server) alertPage(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	a, err := s.visibleAlertFor(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	partial := r.URL.Query().Get("partial") == "1"
	d := alertPageData{Alert: a, Here: "/alerts/" + a.ID, Refresh: "/alerts/" + a.ID + "?partial=1"}
	if t, err := s.cfg.Teams.Team(ctx, a.TeamID); err == nil {
		d.TeamName = t.Name
	}
	if d.Acks, err = s.alertAcks(ctx, a.ID); err != nil {
		return err
	}
	d.AckedByMe = slices.ContainsFunc(d.Acks, func(k ackItem) bool { return k.UserID == v.User.ID })
	d.CanAck = a.Status == alert.StatusNew && !d.AckedByMe
	d.CanUndoAck = a.Status == alert.StatusAcknowledged
	d.CanClose = a.Status != alert.StatusClosed
	d.CanUndoClose = a.Status == alert.StatusClosed
	d.CanEscalate = a.Status == alert.StatusNew
	tl, err := s.cfg.Alerts.Timeline(ctx, a.ID)
	if err != nil {
		return err
	}
	if d.Links, err = s.alertLinks(ctx, a.ID); err != nil {
		return err
	}
	var wbs []writeback
	if len(d.Links) > 0 {
		if wbs, err = s.alertWritebacks(ctx, a.ID); err != nil {
			return err
		}
	}
	d.Timeline = timelineItems(tl, wbs)
	if d.Deliveries, err = s.alertDeliveries(ctx, a.ID); err != nil {
		return err
	}
	portal := portalLink(a.Params)
	for i := range d.Links {
		l := &d.Links[i]
		l.Portal = portal
		for _, wb := range wbs {
			if wb.ConnectorID != l.ConnectorID {
				continue
			}
			switch wb.Status {
			case "sent":
				l.Sent++
			case "failed":
				l.Failed++
				l.LastError = wb.Error
			default:
				l.Pending++
				if wb.Error != "" {
					l.LastError = wb.Error
				}
			}
		}
	}
	v.Title, v.Nav = a.Title, "inbox"
	if partial {
		return s.renderLivePart(w, v, "alert", "alert-live", d)
	}
	d.Params = paramItems(a.Params)
	d.Map = locationLink(a.Location)
	for _, at := range a.Attachments {
		item := attachmentItem{AttachmentInfo: at, Bytes: byteSize(at.Size)}
		switch {
		case inlineImage(at.ContentType):
			d.Images = append(d.Images, item)
		default:
			d.Files = append(d.Files, item)
			if isCSV(at) {
				if t, ok := s.csvPreview(ctx, at); ok {
					d.Tables = append(d.Tables, t)
				}
			}
		}
	}
	return s.render(w, v, "alert", d)
}

func paramItems(ps []ingest.Param) []paramItem {
	out := make([]paramItem, 0, len(ps))
	for _, p := range ps {
		out = append(out, paramItem{Name: p.Name, Value: p.Value, URL: webLink(p.Value)})
	}
	return out
}

// webLink returns v if it is an http(s) address, for a link; "" otherwise,
// so no other scheme (javascript:, data:) ever becomes a link.
func webLink(v string) string {
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, " \t\n") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}

// portalLink is the incident's page at its source, as the connector put it
// in the parameters.
func portalLink(ps []ingest.Param) string {
	for _, name := range []string{"Incident link", "Alert link"} {
		for _, p := range ps {
			if strings.EqualFold(p.Name, name) {
				if u := webLink(p.Value); u != "" {
					return u
				}
			}
		}
	}
	return ""
}

var coordinates = regexp.MustCompile(`^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,;]\s*(-?\d{1,3}(?:\.\d+)?)\s*$`)

// locationLink links coordinates ("52.52,13.40") to that point on
// OpenStreetMap, and anything else to a search for it there.
func locationLink(loc string) *mapLink {
	loc = strings.TrimSpace(loc)
	if loc == "" {
		return nil
	}
	if m := coordinates.FindStringSubmatch(loc); m != nil {
		lat, err1 := strconv.ParseFloat(m[1], 64)
		lon, err2 := strconv.ParseFloat(m[2], 64)
		if err1 == nil && err2 == nil && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
			q := url.Values{"mlat": {m[1]}, "mlon": {m[2]}}
			return &mapLink{URL: "https://www.openstreetmap.org/?" + q.Encode() + "#map=16/" + m[1] + "/" + m[2], Exact: true}
		}
	}
	return &mapLink{URL: "https://www.openstreetmap.org/search?" + url.Values{"query": {loc}}.Encode()}
}

// timelineLabels name the timeline's kinds in the app's words.
var timelineLabels = map[string]string{
	alert.KindCreated:        "Opened",
	alert.KindDuplicate:      "Repeated",
	alert.KindAcknowledged:   "Acknowledged",
	alert.KindUnacknowledged: "Acknowledgement undone",
	alert.KindClosed:         "Closed",
	alert.KindReopened:       "Reopened",
	alert.KindAnnotated:      "Note",
	alert.KindPlanned:        "Planned",
	alert.KindNotified:       "Notified",
	alert.KindNotifyFailed:   "Not delivered",
	alert.KindEscalated:      "Escalated",
	alert.KindDelivered:      "Delivered",
	alert.KindThrottled:      "Held back",
	"writeback":              "Written back",
	"writeback_failed":       "Write-back failed",
	"writeback_retrying":     "Write-back retrying",
}

// timelineItems merges the timeline with the write-backs to linked
// incidents, oldest first.
func timelineItems(tl []alert.TimelineEntry, wbs []writeback) []timelineItem {
	out := make([]timelineItem, 0, len(tl)+len(wbs))
	for _, e := range tl {
		actor := e.Actor.Name
		switch e.Actor.Type {
		case "system":
			actor = "lastmile"
		case "event":
			actor = "via " + actor
		}
		out = append(out, timelineItem{At: e.At, Kind: e.Kind, Label: timelineLabel(e.Kind), Actor: actor, Text: e.Text})
	}
	for _, wb := range wbs {
		it := timelineItem{At: wb.Created, Actor: wb.Connector, Text: wb.Kind}
		switch {
		case wb.Status == "sent" && wb.Sent != nil:
			it.At, it.Kind = *wb.Sent, "writeback"
		case wb.Status == "failed":
			it.Kind, it.Text = "writeback_failed", wb.Kind+": "+wb.Error
		case wb.Error != "":
			it.Kind, it.Text = "writeback_retrying", wb.Kind+": "+wb.Error
		default:
			continue // waiting its turn: the incident card counts it
		}
		it.Label = timelineLabel(it.Kind)
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

func timelineLabel(kind string) string {
	if l, ok := timelineLabels[kind]; ok {
		return l
	}
	return strings.ReplaceAll(kind, "_", " ")
}
