package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/inbound"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/team"
)

// Channels is what the HTTP layer needs of the channel subsystem. A server
// without it answers the channel routes with 503.
type Channels struct {
	Settings *settings.Service
	Inbound  *inbound.Service
	Outbound *outbound.Service
	// VAPIDPublicKey returns the key browsers subscribe to push with.
	VAPIDPublicKey func(ctx context.Context) (string, error)
}

func (s *Server) channelsReady() error {
	if s.cfg.Channels == nil || s.cfg.Channels.Settings == nil {
		return apperr.New(apperr.Unavailable, "channels are not set up on this server")
	}
	return nil
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	vs, err := s.cfg.Channels.Settings.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Channels.Settings.Get(r.Context(), r.PathValue("provider"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) putChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Settings json.RawMessage `json:"settings"`
		Enabled  *bool           `json:"enabled"`
		// Force saves settings the provider refuses right now (it is
		// down); the channel then shows as failing.
		Force bool `json:"force"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Settings) == 0 {
		req.Settings = json.RawMessage("{}")
	}
	enabled := req.Enabled == nil || *req.Enabled
	v, err := s.cfg.Channels.Settings.Put(r.Context(), r.PathValue("provider"), req.Settings, enabled, req.Force, p.User.Email)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) checkChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Channels.Settings.Check(r.Context(), r.PathValue("provider"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// testChannel sends a test notification through a provider to an address,
// or to the caller's own address on the provider's channel.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Channel string `json:"channel"`
		Address string `json:"address"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	set := s.cfg.Channels.Settings
	v, err := set.Get(r.Context(), r.PathValue("provider"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Channel == "" {
		req.Channel = v.Channels[0]
	}
	if !slices.Contains(v.Channels, req.Channel) {
		s.writeError(w, r, apperr.New(apperr.Invalid, "%s serves the channels %s, not %q", v.Provider, strings.Join(v.Channels, ", "), req.Channel))
		return
	}
	if req.Address == "" {
		cms, err := s.teams.ContactMethods(r.Context(), p.User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, c := range cms {
			if c.Channel == req.Channel {
				req.Address = c.Address
				break
			}
		}
		if req.Address == "" {
			s.writeError(w, r, apperr.New(apperr.Invalid, "you have no %s address; send one as \"address\"", req.Channel))
			return
		}
	}
	addr, err := set.ValidateAddress(req.Channel, req.Address)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := set.Send(r.Context(), notify.Message{Channel: req.Channel, Address: addr, Kind: notify.KindTest, UserID: p.User.ID,
		NotificationID: "test-" + requestID(r.Context()), Title: "lastmile test notification",
		Text: "This is a test from lastmile, sent by " + p.User.Email + ". If you can read it, the " + req.Channel + " channel works.", Severity: "info"})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": true, "channel": req.Channel, "address": addr, "providerId": id})
}

func (s *Server) vapidPublicKey(w http.ResponseWriter, r *http.Request, p *principal) {
	if s.cfg.Channels == nil || s.cfg.Channels.VAPIDPublicKey == nil {
		s.writeError(w, r, apperr.New(apperr.Unavailable, "push is not set up on this server"))
		return
	}
	k, err := s.cfg.Channels.VAPIDPublicKey(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"publicKey": k})
}

// callback hands a provider's callback to the provider's current channel,
// which checks the provider's signature first.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	h := s.cfg.Channels.Settings.Callback(r.PathValue("provider"), r.PathValue("path"))
	if h == nil {
		s.writeError(w, r, apperr.New(apperr.NotFound, "no such callback (is the provider configured?)"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	h.ServeHTTP(w, r)
}

// sendVerification sends a new code to a contact method that needs one.
func (s *Server) sendVerification(ctx context.Context, c team.ContactMethod, code string) error {
	if err := s.channelsReady(); err != nil {
		return err
	}
	_, err := s.cfg.Channels.Settings.Send(ctx, notify.Message{Channel: c.Channel, Address: c.Address, Kind: notify.KindVerify, UserID: c.UserID,
		NotificationID: "verify-" + c.ID, Code: code, Title: "lastmile verification code",
		Text: "Your lastmile verification code is " + code + ". It expires in 10 minutes."})
	return err
}
