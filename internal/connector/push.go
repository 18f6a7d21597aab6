package connector

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// Push: a source tells lastmile of a new item at once (a Sentinel
// automation rule runs a Logic App that posts the incident to the
// connector's secret push URL), instead of waiting for the next poll.
//
// lastmile trusts the pushed body for one thing only, the item's id: it
// reads the item with the connector's own credentials (Getter) and runs it
// through the path a polled item takes. The connector_items link is the
// same, so whichever of push and poll comes second finds the item linked
// and raises nothing; and a push that cannot be read now makes the
// connector poll at once, so a pushed incident is never lost.

// Getter is a Source that reads single items, so it can take pushes.
type Getter interface {
	// CanGet says why this source cannot read single items (nil: it can).
	CanGet() error
	// PushedID finds the id of the item a pushed body names. The body
	// is trusted for nothing else. Its error says what the body lacks.
	PushedID(body []byte) (string, error)
	// Get reads one item with the source's own credentials.
	Get(ctx context.Context, externalID string) (Item, error)
}

// What a push did.
const (
	// PushCreated: the push opened the alert.
	PushCreated = "created"
	// PushExists: the item was linked already (polled or pushed before).
	PushExists = "exists"
	// PushIgnored: the item opens no alert (the connector's filters, the
	// team's categories, or it is closed).
	PushIgnored = "ignored"
	// PushQueued: the item could not be read now; the connector polls at
	// once, which raises it.
	PushQueued = "queued"
)

// PushResult is what a push did.
type PushResult struct {
	Status      string `json:"status"`
	AlertID     string `json:"alertId,omitempty"`
	ConnectorID string `json:"connectorId"`
	ExternalID  string `json:"externalId,omitempty"`
	Note        string `json:"note,omitempty"`
}

// PushURL is where a playbook posts a connector's incidents: the REST
// API's push route, under the server's base URL, with the secret.
func PushURL(baseURL, secret string) string {
	return strings.TrimRight(baseURL, "/") + "/api/v1/connectors/push/" + secret
}

// PushInfo is a connector's push set-up and how its pushes went. The
// secret itself is never kept: only its first characters, to tell
// secrets apart.
type PushInfo struct {
	// Available says whether the connector's source takes pushes;
	// Reason says why not.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// Enabled says a push secret exists (the push URL works).
	Enabled      bool       `json:"enabled"`
	SecretPrefix string     `json:"secretPrefix,omitempty"`
	CreatedAt    *time.Time `json:"createdAt,omitempty"`
	Pushes       int64      `json:"pushes"`
	LastPushAt   *time.Time `json:"lastPushAt,omitempty"`
	LastResult   string     `json:"lastResult,omitempty"`
	LastNote     string     `json:"lastNote,omitempty"`
}

// pushApplyTimeout bounds opening the alert of a pushed item once it is
// read (enrichment included); the read itself is bounded by the caller's
// context.
const pushApplyTimeout = 20 * time.Second

var pushSecretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newPushSecret returns 160 random bits, URL-safe.
func newPushSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return pushSecretEncoding.EncodeToString(b)
}

func hashPushSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// getter returns the connector's source as a Getter, or why it cannot
// take pushes.
func (s *Service) getter(ctx context.Context, teamID, id string) (Connector, Source, Getter, error) {
	c, src, err := s.Source(ctx, teamID, id)
	if err != nil {
		return Connector{}, nil, nil, err
	}
	g, ok := src.(Getter)
	if !ok {
		return c, src, nil, apperr.New(apperr.Conflict, "connector %q (source %s) cannot take pushes: its source cannot read single items", c.Name, c.Source)
	}
	if err := g.CanGet(); err != nil {
		return c, src, nil, apperr.New(apperr.Conflict, "connector %q cannot take pushes: %v", c.Name, err)
	}
	return c, src, g, nil
}

// RotatePushSecret gives the connector a new push secret (its first, or
// one replacing the old, which stops working) and returns it: it is not
// kept, so this is the only time it is shown.
func (s *Service) RotatePushSecret(ctx context.Context, teamID, id string) (string, PushInfo, error) {
	if _, _, _, err := s.getter(ctx, teamID, id); err != nil {
		return "", PushInfo{}, err
	}
	secret := newPushSecret()
	_, err := s.db.Exec(ctx, `INSERT INTO connector_push (connector_id, secret_hash, secret_prefix, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (connector_id) DO UPDATE SET secret_hash = excluded.secret_hash, secret_prefix = excluded.secret_prefix, created_at = excluded.created_at`,
		id, hashPushSecret(secret), secret[:6], store.Micros(s.clock.Now()))
	if err != nil {
		return "", PushInfo{}, fmt.Errorf("store push secret: %w", err)
	}
	info, err := s.PushInfo(ctx, teamID, id)
	return secret, info, err
}

// DisablePush removes the connector's push secret: its push URL stops
// working. Polling goes on as before.
func (s *Service) DisablePush(ctx context.Context, teamID, id string) error {
	if _, _, err := s.load(ctx, teamID, id); err != nil {
		return err
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM connector_push WHERE connector_id = ?`, id); err != nil {
		return fmt.Errorf("remove push secret: %w", err)
	}
	return nil
}

// PushInfo returns the connector's push set-up and counters.
func (s *Service) PushInfo(ctx context.Context, teamID, id string) (PushInfo, error) {
	var info PushInfo
	if _, _, _, err := s.getter(ctx, teamID, id); err != nil {
		if k := apperr.KindOf(err); k != apperr.Conflict && k != apperr.Invalid {
			return PushInfo{}, err
		}
		info.Reason = plain(err)
	} else {
		info.Available = true
	}
	var created int64
	var last *int64
	err := s.db.QueryRow(ctx, `SELECT secret_prefix, created_at, push_count, last_push_at, last_result, last_note FROM connector_push WHERE connector_id = ?`, id).
		Scan(&info.SecretPrefix, &created, &info.Pushes, &last, &info.LastResult, &info.LastNote)
	if errors.Is(err, sql.ErrNoRows) {
		return info, nil
	}
	if err != nil {
		return PushInfo{}, fmt.Errorf("read push set-up: %w", err)
	}
	at := store.FromMicros(created)
	info.Enabled, info.CreatedAt, info.LastPushAt = true, &at, store.OptTime(last)
	return info, nil
}

// pushTarget finds the connector whose push secret is secret.
func (s *Service) pushTarget(ctx context.Context, secret string) (teamID, id string, err error) {
	want := hashPushSecret(secret)
	var got []byte
	err = s.db.QueryRow(ctx, `SELECT c.team_id, c.id, p.secret_hash FROM connector_push p JOIN connectors c ON c.id = p.connector_id WHERE p.secret_hash = ?`,
		want).Scan(&teamID, &id, &got)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(got, want) != 1) {
		return "", "", apperr.WithDetails(apperr.NotFound, "unknown push secret", "no connector has this push secret; check the URL, or make a new one (POST …/connectors/{id}/push-secret)")
	}
	if err != nil {
		return "", "", fmt.Errorf("find push secret: %w", err)
	}
	return teamID, id, nil
}

// recordPush counts a push in the connector's push health. It outlives
// the request: a client that went away still pushed.
func (s *Service) recordPush(ctx context.Context, id string, res PushResult) {
	_, _ = s.db.Exec(context.WithoutCancel(ctx), `UPDATE connector_push SET push_count = push_count + 1, last_push_at = ?, last_result = ?, last_note = ? WHERE connector_id = ?`,
		store.Micros(s.clock.Now()), res.Status, res.Note, id)
}

// Push handles a pushed body for the connector whose push secret is
// secret: it reads the item the body names with the connector's
// credentials and opens its alert as a poll would. ctx bounds the read;
// once read, the alert is opened even if ctx ends.
//
// Errors: NotFound for an unknown secret, Conflict for a disabled
// connector or one whose source cannot read single items, Invalid for a
// body that names no item. A read that fails is no error: the result is
// PushQueued and the connector polls at once.
func (r *Runner) Push(ctx context.Context, secret string, body []byte) (PushResult, error) {
	teamID, id, err := r.svc.pushTarget(ctx, secret)
	if err != nil {
		return PushResult{}, err
	}
	res := PushResult{ConnectorID: id}
	c, src, g, err := r.svc.getter(ctx, teamID, id)
	if apperr.KindOf(err) == apperr.Invalid {
		// The stored settings no longer build a source: not the body's fault.
		return res, apperr.New(apperr.Conflict, "the connector cannot read incidents: %s", plain(err))
	}
	if err != nil {
		return res, err
	}
	if !c.Enabled {
		return res, apperr.New(apperr.Conflict, "connector %q is disabled: enable it to take pushes", c.Name)
	}
	ext, err := g.PushedID(body)
	if err != nil {
		return res, apperr.WithDetails(apperr.Invalid, "the body names no item to read", err.Error())
	}
	res.ExternalID = ext
	if l, known, err := r.link(ctx, c.ID, ext); err != nil {
		return res, err
	} else if known {
		res.Status, res.AlertID = PushExists, l.alertID
		r.svc.recordPush(ctx, id, res)
		return res, nil
	}
	it, err := g.Get(ctx, ext)
	if err != nil {
		// Never lose it: the poll that reads it is moved to now.
		if perr := r.svc.PollNow(context.WithoutCancel(ctx), teamID, id); perr != nil {
			r.log.Error("push: could not move the poll forward", "connector_id", id, "err", perr)
		}
		r.log.Warn("push: could not read the pushed item; polling instead", "connector_id", id, "item", ext, "err", err)
		res.Status, res.Note = PushQueued, "could not read "+ext+" now ("+plain(err)+"); the connector polls at once and raises it then"
		r.svc.recordPush(ctx, id, res)
		return res, nil
	}
	res.ExternalID = it.ExternalID
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushApplyTimeout)
	defer cancel()
	tm, err := r.teams.Team(actx, teamID)
	if err != nil {
		return res, err
	}
	opened, err := r.apply(actx, c, tm, src, it)
	if err != nil {
		if perr := r.svc.PollNow(actx, teamID, id); perr != nil {
			r.log.Error("push: could not move the poll forward", "connector_id", id, "err", perr)
		}
		return res, fmt.Errorf("push: item %s: %w", it.ExternalID, err)
	}
	if opened {
		r.opt.Wake()
	}
	l, known, err := r.link(actx, c.ID, it.ExternalID)
	if err != nil {
		return res, err
	}
	switch {
	case known && opened:
		res.Status, res.AlertID = PushCreated, l.alertID
	case known:
		res.Status, res.AlertID = PushExists, l.alertID
	default:
		res.Status, res.Note = PushIgnored, whyIgnored(it)
	}
	r.svc.recordPush(ctx, id, res)
	return res, nil
}

// whyIgnored says why an item read opened no alert.
func whyIgnored(it Item) string {
	switch {
	case it.Status == "closed":
		return "it is closed"
	case it.Status == "redirected":
		return "it was merged into " + it.RedirectTo
	case !it.Open:
		return "it does not pass the connector's filters (statuses, severities, products)"
	}
	return "the team's categories filtered it out"
}

// PushFields finds scalar values in a JSON body by dotted path (object
// keys, compared without regard to case; values inside arrays are not
// reached). It reads as far as it can: a body cut short, or not JSON past
// some point, still yields the values before that. Numbers come as written,
// booleans as true or false; nulls are left out.
func PushFields(body []byte, paths ...string) map[string]string {
	want := map[string]string{}
	for _, p := range paths {
		want[strings.ToLower(p)] = p
	}
	out := map[string]string{}
	type frame struct {
		obj       bool
		key       string
		expectKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path := func() string {
		parts := make([]string, len(stack))
		for i, f := range stack {
			if f.obj {
				parts[i] = strings.ToLower(f.key)
			} else {
				parts[i] = "[]"
			}
		}
		return strings.Join(parts, ".")
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	for len(out) < len(want) {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		n := len(stack)
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{obj: true, expectKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				if n > 0 {
					stack = stack[:n-1]
				}
				valueDone()
			}
			continue
		case string:
			if n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				stack[n-1].key, stack[n-1].expectKey = v, false
				continue
			}
		}
		if n > 0 && stack[n-1].obj {
			if name, ok := want[path()]; ok {
				if _, seen := out[name]; !seen {
					switch v := tok.(type) {
					case string:
						out[name] = v
					case json.Number:
						out[name] = v.String()
					case bool:
						out[name] = fmt.Sprint(v)
					}
				}
			}
		}
		valueDone()
	}
	return out
}
