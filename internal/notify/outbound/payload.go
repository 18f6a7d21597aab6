package outbound

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"
)

// Payload is the JSON body of a delivery, in SIGNL4's outbound webhook
// shape. Fields SIGNL4 does not send (the alert's title and the rest,
// duty, note) are additions receivers written for SIGNL4 ignore.
type Payload struct {
	EventType int `json:"eventType"`
	// EventRaisedUTC is when the event happened, in .NET's round-trip
	// form with 7 fractional digits, as SIGNL4 sends it.
	EventRaisedUTC string             `json:"eventRaisedUtc"`
	Subscription   Ref                `json:"subscription"` // the webhook
	Team           Ref                `json:"team"`
	User           *PayloadUser       `json:"user,omitempty"`
	Alert          *PayloadAlert      `json:"alert,omitempty"`
	Annotation     *PayloadAnnotation `json:"annotation,omitempty"`
	Duty           *PayloadDuty       `json:"duty,omitempty"`
	Note           string             `json:"note,omitempty"` // test events
	// ID is the same on every attempt at this event: receivers drop
	// repeats by it.
	ID string `json:"id"`
}

// Ref names a thing by id.
type Ref struct {
	ID string `json:"id"`
}

// PayloadUser is the member who caused the event.
type PayloadUser struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	MailAddress string `json:"mailaddress"`
}

// PayloadAlert is the alert an event is about. StatusCode,
// AcknowledgedUserIDs, AcknowledgedAt and ClosedAt describe the alert as
// it was right after the event, whenever the delivery is made; title,
// text and severity are read when it is made.
type PayloadAlert struct {
	StatusCode          int      `json:"statusCode"` // 1 new, 2 acknowledged, 4 closed
	EventID             string   `json:"eventId"`    // the inbound event that raised it
	ExternalEventID     *string  `json:"externalEventId"`
	AcknowledgedUserIDs []string `json:"acknowledgedUserIds"`
	ID                  string   `json:"id"`
	Title               string   `json:"title"`
	Text                string   `json:"text"`
	Severity            string   `json:"severity"`
	CreatedAt           string   `json:"createdAt"`
	AcknowledgedAt      *string  `json:"acknowledgedAt,omitempty"`
	ClosedAt            *string  `json:"closedAt,omitempty"`
}

// Alert status codes, as SIGNL4 numbers them.
const (
	StatusNew          = 1
	StatusAcknowledged = 2
	StatusClosed       = 4
)

// PayloadAnnotation is the note of an annotated event (203).
type PayloadAnnotation struct {
	Message string `json:"message"`
	ID      string `json:"id"`
}

// PayloadDuty tells which duty a duty event (300–303) is about: tier 1, 2,
// … or 0 for the manager.
type PayloadDuty struct {
	Tier    int  `json:"tier"`
	Manager bool `json:"manager"`
}

// testNote is the note of a test event.
const testNote = "This is a test event from lastmile. Your endpoint received it."

// Delivery sources, as the triggers write them.
const (
	sourceTimeline = "timeline"
	sourceDuty     = "duty"
	sourceTest     = "test"
)

// netTime is .NET's round-trip format, which SIGNL4 uses.
const netTime = "2006-01-02T15:04:05.0000000Z07:00"

// FormatTime writes t as SIGNL4 does: "2017-09-01T08:11:37.4815663Z".
func FormatTime(t time.Time) string { return t.UTC().Format(netTime) }

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

// eventNamespace makes event ids name-based UUIDs (version 5) of their
// own, unlike any other lastmile id.
const eventNamespace = "8b6f0d2e4c1a4f7e9d3b5a6c7e8f9012"

// eventID is the id of the event a delivery carries: a UUID derived from
// the team and the event's row, so every attempt and every webhook of the
// team carry the same id for one event, and no two servers (whose
// timeline ids overlap) share one.
func eventID(teamID, source, sourceID string) string {
	ns, _ := hex.DecodeString(eventNamespace)
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(teamID + "/" + source + "/" + sourceID))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return strings.Join([]string{x[:8], x[8:12], x[12:16], x[16:20], x[20:]}, "-")
}
