// Package settings keeps each channel provider's settings (credentials
// sealed at rest), builds the providers' channels from them into the
// registry the engine sends through, checks credentials with the provider
// when an administrator saves them, and sends test notifications.
package settings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
)

// Masked stands for a secret in settings shown to administrators.
const Masked = seal.Masked

// checkTimeout bounds a provider's credential check.
const checkTimeout = 15 * time.Second

// View is a provider's settings as administrators see them.
type View struct {
	Provider   string          `json:"provider"`
	Channels   []string        `json:"channels"`
	Settings   json.RawMessage `json:"settings"`
	Configured bool            `json:"configured"`
	Enabled    bool            `json:"enabled"`
	// Status is unchecked, ok or failing; LastError says why in plain words.
	Status    string     `json:"status"`
	LastError string     `json:"lastError,omitempty"`
	CheckedAt *time.Time `json:"checkedAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	UpdatedBy string     `json:"updatedBy,omitempty"`
}

// Service keeps provider settings and the channels built from them.
type Service struct {
	db        *store.DB
	box       *seal.Box
	clock     clock.Clock
	log       *slog.Logger
	deps      notify.Deps
	reg       *notify.Registry
	providers map[string]notify.Provider

	mu      sync.Mutex
	built   map[string][]notify.Channel
	version map[string]int64  // updated_at of the settings built
	health  map[string]string // the last error seen sending, by provider ("" fine)
}

// New returns the service. Load builds the channels.
func New(db *store.DB, box *seal.Box, c clock.Clock, log *slog.Logger, deps notify.Deps, reg *notify.Registry, providers ...notify.Provider) *Service {
	s := &Service{db: db, box: box, clock: c, log: log, deps: deps, reg: reg, providers: map[string]notify.Provider{},
		built: map[string][]notify.Channel{}, version: map[string]int64{}, health: map[string]string{}}
	for _, p := range providers {
		s.providers[p.Name] = p
	}
	return s
}

// Providers lists the provider names, sorted.
func (s *Service) Providers() []string {
	names := make([]string, 0, len(s.providers))
	for n := range s.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type row struct {
	raw       json.RawMessage
	enabled   bool
	status    string
	lastError string
	checkedAt *int64
	updatedAt int64
	updatedBy string
}

func (s *Service) read(ctx context.Context, name string) (row, bool, error) {
	var r row
	var sealed string
	err := s.db.QueryRow(ctx, `SELECT settings, enabled, status, last_error, checked_at, updated_at, updated_by FROM channel_settings WHERE provider = ?`, name).
		Scan(&sealed, &r.enabled, &r.status, &r.lastError, &r.checkedAt, &r.updatedAt, &r.updatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return row{raw: json.RawMessage("{}"), enabled: true, status: "unchecked"}, false, nil
	}
	if err != nil {
		return row{}, false, fmt.Errorf("read %s settings: %w", name, err)
	}
	plain, err := s.box.Open(sealed, "channel_settings/"+name)
	if err != nil {
		return row{}, false, fmt.Errorf("%s settings: %w", name, err)
	}
	r.raw = plain
	return r, true, nil
}

// Load builds every provider's channels from its stored settings (or from
// none) and puts them in the registry. A provider that is not configured,
// disabled or whose settings fail to build is stood in for by log
// channels, so alerts still show up in the log and on the timeline.
func (s *Service) Load(ctx context.Context) error {
	for _, name := range s.Providers() {
		if err := s.load(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// Refresh rebuilds the providers whose settings another instance changed.
func (s *Service) Refresh(ctx context.Context) error {
	rows, err := s.db.Query(ctx, `SELECT provider, updated_at FROM channel_settings`)
	if err != nil {
		return fmt.Errorf("read channel settings: %w", err)
	}
	changed := []string{}
	s.mu.Lock()
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			s.mu.Unlock()
			rows.Close()
			return err
		}
		if _, ok := s.providers[name]; ok && s.version[name] != at {
			changed = append(changed, name)
		}
	}
	s.mu.Unlock()
	rows.Close()
	for _, name := range changed {
		if err := s.load(ctx, name); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Service) load(ctx context.Context, name string) error {
	p := s.providers[name]
	r, _, err := s.read(ctx, name)
	if err != nil {
		return err
	}
	var chs []notify.Channel
	if r.enabled {
		chs, err = p.Build(r.raw, s.deps)
	}
	if !r.enabled || err != nil {
		if err != nil && !errors.Is(err, notify.ErrNotConfigured) {
			s.log.Warn("channel provider settings do not build; its messages go to the log", "provider", name, "err", err)
		}
		chs = nil
		for _, c := range p.Channels {
			chs = append(chs, notify.NewLog(c, s.log))
		}
	}
	s.mu.Lock()
	s.built[name] = chs
	s.version[name] = r.updatedAt
	s.mu.Unlock()
	s.reg.Set(chs...)
	return nil
}

// Get returns a provider's settings with its secrets masked.
func (s *Service) Get(ctx context.Context, name string) (View, error) {
	p, ok := s.providers[name]
	if !ok {
		return View{}, apperr.New(apperr.NotFound, "no channel provider %q; use one of %v", name, s.Providers())
	}
	r, stored, err := s.read(ctx, name)
	if err != nil {
		return View{}, err
	}
	v := View{Provider: name, Channels: p.Channels, Settings: seal.MaskJSON(r.raw, p.Secrets), Enabled: r.enabled, Status: r.status, LastError: r.lastError,
		CheckedAt: store.OptTime(r.checkedAt), UpdatedBy: r.updatedBy}
	if stored {
		t := store.FromMicros(r.updatedAt)
		v.UpdatedAt = &t
	}
	_, err = p.Build(r.raw, s.deps)
	v.Configured = err == nil
	return v, nil
}

// List returns every provider's settings, secrets masked.
func (s *Service) List(ctx context.Context) ([]View, error) {
	out := []View{}
	for _, name := range s.Providers() {
		v, err := s.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Put checks and saves a provider's settings. Secrets left out or sent
// back masked keep their stored value. The settings must build, and a
// provider that can check its credentials must pass the check, unless
// force is set (to save settings for a provider that is down right now);
// either way nothing half-checked replaces working settings silently.
func (s *Service) Put(ctx context.Context, name string, raw json.RawMessage, enabled bool, force bool, by string) (View, error) {
	p, ok := s.providers[name]
	if !ok {
		return View{}, apperr.New(apperr.NotFound, "no channel provider %q; use one of %v", name, s.Providers())
	}
	old, _, err := s.read(ctx, name)
	if err != nil {
		return View{}, err
	}
	merged, err := seal.KeepSecrets(raw, old.raw, p.Secrets)
	if err != nil {
		return View{}, apperr.New(apperr.Invalid, "settings must be a JSON object: %v", err)
	}
	var chs []notify.Channel
	if enabled {
		chs, err = p.Build(merged, s.deps)
	} else {
		// Turning a provider off must work whatever its settings; they
		// are checked when it is turned on again.
		err = notify.DecodeSettings(merged, new(map[string]any))
	}
	if errors.Is(err, notify.ErrNotConfigured) {
		return View{}, apperr.New(apperr.Invalid, "%s settings are incomplete: %v", name, err)
	}
	if err != nil {
		return View{}, apperr.New(apperr.Invalid, "%s settings: %v", name, err)
	}
	status, lastErr := "unchecked", ""
	if enabled {
		if cerr := check(ctx, chs); cerr != nil {
			if !force {
				return View{}, apperr.New(apperr.Invalid, "%s refused the settings, nothing was saved: %v", name, cerr)
			}
			status, lastErr = "failing", cerr.Error()
		} else if hasChecker(chs) {
			status = "ok"
		}
	}
	now := s.clock.Now()
	_, err = s.db.Exec(ctx, `INSERT INTO channel_settings (provider, settings, enabled, status, last_error, checked_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider) DO UPDATE SET settings = excluded.settings, enabled = excluded.enabled, status = excluded.status,
		last_error = excluded.last_error, checked_at = excluded.checked_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		name, s.box.Seal(merged, "channel_settings/"+name), enabled, status, lastErr, store.Micros(now), store.Micros(now), by)
	if err != nil {
		return View{}, fmt.Errorf("save %s settings: %w", name, err)
	}
	if err := s.load(ctx, name); err != nil {
		return View{}, err
	}
	return s.Get(ctx, name)
}

// Check runs the provider's credential check now and records the outcome.
func (s *Service) Check(ctx context.Context, name string) (View, error) {
	p, ok := s.providers[name]
	if !ok {
		return View{}, apperr.New(apperr.NotFound, "no channel provider %q", name)
	}
	r, _, err := s.read(ctx, name)
	if err != nil {
		return View{}, err
	}
	chs, err := p.Build(r.raw, s.deps)
	if err != nil {
		return View{}, apperr.New(apperr.Invalid, "%s is not configured: %v", name, err)
	}
	status, lastErr := "ok", ""
	if cerr := check(ctx, chs); cerr != nil {
		status, lastErr = "failing", cerr.Error()
	}
	s.ReportStatus(ctx, name, status, lastErr)
	return s.Get(ctx, name)
}

// ReportStatus records how a provider is doing (from a check or from
// sending), for administrators.
func (s *Service) ReportStatus(ctx context.Context, name, status, lastErr string) {
	if _, err := s.db.Exec(ctx, `UPDATE channel_settings SET status = ?, last_error = ?, checked_at = ? WHERE provider = ? AND (status <> ? OR last_error <> ?)`,
		status, lastErr, store.Micros(s.clock.Now()), name, status, lastErr); err != nil {
		s.log.Warn("record channel status", "provider", name, "err", err)
	}
}

// ProviderOf returns the provider serving channel.
func (s *Service) ProviderOf(channel string) (notify.Provider, bool) {
	for _, p := range s.providers {
		if slices.Contains(p.Channels, channel) {
			return p, true
		}
	}
	return notify.Provider{}, false
}

// ValidateAddress checks a member's address for channel with the
// provider's own rules, if it has any.
func (s *Service) ValidateAddress(channel, address string) (string, error) {
	p, ok := s.ProviderOf(channel)
	if !ok || p.ValidateAddress == nil {
		return address, nil
	}
	v, err := p.ValidateAddress(channel, address)
	if err != nil {
		return "", apperr.New(apperr.Invalid, "%v", err)
	}
	return v, nil
}

// Callback returns the handler of a provider callback, built from the
// provider's current settings.
func (s *Service) Callback(provider, path string) http.Handler {
	s.mu.Lock()
	chs := s.built[provider]
	s.mu.Unlock()
	for _, c := range chs {
		if cb, ok := c.(notify.Callbacks); ok {
			if h := cb.Callback(path); h != nil {
				return h
			}
		}
	}
	return nil
}

// Updater returns the current channel named channel if it can update a
// message it sent.
func (s *Service) Updater(channel string) (notify.Updater, bool) {
	c, err := s.reg.Get(channel)
	if err != nil {
		return nil, false
	}
	u, ok := c.(notify.Updater)
	return u, ok
}

// Channel returns the current channel named name, and whether a provider
// is really configured for it (not a log stand-in).
func (s *Service) Channel(name string) (notify.Channel, bool) {
	c, err := s.reg.Get(name)
	if err != nil {
		return nil, false
	}
	_, isLog := c.(*notify.Log)
	return c, !isLog
}

func check(ctx context.Context, chs []notify.Channel) error {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	for _, c := range chs {
		if ck, ok := c.(notify.Checker); ok {
			// Channels of one provider share credentials: one check does.
			return ck.Check(cctx)
		}
	}
	return nil
}

func hasChecker(chs []notify.Channel) bool {
	for _, c := range chs {
		if _, ok := c.(notify.Checker); ok {
			return true
		}
	}
	return false
}

// Send delivers one message outside any alert's plan (a test, a
// verification code) through the channel's provider. A channel with no
// provider configured is an error that says so, not a line in the log.
func (s *Service) Send(ctx context.Context, m notify.Message) (string, error) {
	c, real := s.Channel(m.Channel)
	if !real {
		p, _ := s.ProviderOf(m.Channel)
		return "", apperr.New(apperr.Unavailable, "the %s channel is not configured on this server; an administrator sets up %q under /api/v1/channels", m.Channel, p.Name)
	}
	sctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	id, err := c.Send(sctx, m)
	if err != nil {
		return "", apperr.New(apperr.Upstream, "%s did not take the message: %v", m.Channel, err)
	}
	return id, nil
}

// Observe hears how a send went and records a provider's change between
// working and failing (only changes, so a busy channel costs no writes).
// An address a member got wrong is not the provider failing.
func (s *Service) Observe(ctx context.Context, channel string, err error) {
	p, ok := s.ProviderOf(channel)
	if !ok {
		return
	}
	msg := ""
	if err != nil {
		if notify.IsPermanent(err) && !errors.Is(err, notify.ErrProviderRefused) {
			return
		}
		msg = err.Error()
	}
	s.mu.Lock()
	last, seen := s.health[p.Name]
	s.health[p.Name] = msg
	s.mu.Unlock()
	if seen && last == msg {
		return
	}
	if msg == "" {
		if seen {
			s.ReportStatus(ctx, p.Name, "ok", "")
		}
		return
	}
	s.log.Warn("channel provider is failing", "provider", p.Name, "err", msg)
	s.ReportStatus(ctx, p.Name, "failing", msg)
}
