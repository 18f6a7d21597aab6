package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/team"
)

// inviteResult says how an invitation went out: by email, or as a link
// the inviter must pass on (shown once, because only its hash is kept).
type inviteResult struct {
	Email   string
	Name    string
	Sent    bool
	Link    string
	Reason  string // why it was not emailed
	Expires time.Time
}

// issueInvite makes an invitation for u and emails its link when the email
// channel works; otherwise the link is returned for the inviter to copy.
// where names what the user is invited to ("Team Ops", "lastmile").
func (s *Server) issueInvite(ctx context.Context, v *view, u team.User, where string) (*inviteResult, error) {
	token, err := s.invites().create(ctx, u.ID, v.User.ID)
	if err != nil {
		return nil, err
	}
	link := strings.TrimSuffix(s.cfg.BaseURL, "/") + "/invite/" + token
	res := &inviteResult{Email: u.Email, Name: u.Name, Expires: s.cfg.Clock.Now().Add(inviteValidity)}
	if err := s.sendInvite(ctx, v, u, where, link); err != nil {
		res.Link, res.Reason = link, inviteFailure(err)
		s.cfg.Log.Info("invitation not emailed; link shown to the inviter", "user_id", u.ID, "by", v.User.ID, "err", err)
		return res, nil
	}
	res.Sent = true
	s.cfg.Log.Info("invitation emailed", "user_id", u.ID, "by", v.User.ID)
	return res, nil
}

func (s *Server) sendInvite(ctx context.Context, v *view, u team.User, where, link string) error {
	if s.cfg.Channels == nil {
		return apperr.New(apperr.Unavailable, "email is not set up on this server")
	}
	inviter := v.User.Name
	if inviter == "" {
		inviter = v.User.Email
	}
	text := inviter + " invited you to " + where + " on lastmile, where your team's alerts reach you.\n" +
		"Open this link to choose your password and sign in: " + link + "\n" +
		"The link works once and expires in 7 days."
	_, err := s.cfg.Channels.Send(ctx, notify.Message{Channel: "email", Address: u.Email, Kind: notify.KindInvite, UserID: u.ID,
		NotificationID: "invite-" + u.ID, Title: "You are invited to " + where + " on lastmile", Severity: "info", Text: text,
		Actions: []notify.Action{{Name: "invite", Label: "Choose your password", URL: link}}})
	return err
}

// inviteFailure says in plain words why the email did not go out.
func inviteFailure(err error) string {
	switch apperr.KindOf(err) {
	case apperr.Unavailable:
		return "Email is not set up on this server, so no message was sent."
	case apperr.Upstream:
		if e, ok := apperr.As(err); ok {
			return "The email could not be sent: " + e.Message
		}
	}
	return "The email could not be sent."
}

type inviteData struct {
	Token   string
	Invalid string
	Email   string
	Name    string
	Error   string
	// Other is who this browser is signed in as, if someone else.
	Other string
}

func (s *Server) inviteForm(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.renderInvite(w, r, v, http.StatusOK, "", "")
}

// renderInvite shows the form to accept an invitation, or a page saying
// why the link does not work.
func (s *Server) renderInvite(w http.ResponseWriter, r *http.Request, v *view, status int, name, problem string) error {
	v.Title, v.Bare = "Join lastmile", true
	token := r.PathValue("token")
	d := inviteData{Token: token, Error: problem}
	inv, err := s.invites().lookup(r.Context(), token)
	var u team.User
	if err == nil {
		u, err = s.cfg.Teams.User(r.Context(), inv.UserID)
	}
	if err != nil {
		if apperr.KindOf(err) != apperr.NotFound {
			return err
		}
		d.Invalid = "This invitation link is not valid. Ask whoever invited you for a new one."
		if e, ok := apperr.As(err); ok {
			d.Invalid = e.Message
		}
		v.Title = "Invitation not valid"
		v.Data = d
		s.renderStatus(w, v, http.StatusNotFound, "invite")
		return nil
	}
	d.Email, d.Name = u.Email, u.Name
	if name != "" {
		d.Name = name
	}
	if v.SignedIn && v.User.ID != u.ID {
		d.Other = v.User.Email
	}
	v.Data = d
	s.renderStatus(w, v, status, "invite")
	return nil
}

func (s *Server) inviteAccept(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	token := r.PathValue("token")
	inv, err := s.invites().lookup(ctx, token)
	if err != nil {
		return s.renderInvite(w, r, v, http.StatusNotFound, "", "")
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	if len(name) > 100 {
		return s.renderInvite(w, r, v, http.StatusBadRequest, name, "Your name may have at most 100 characters.")
	}
	if password != r.PostFormValue("confirm") {
		return s.renderInvite(w, r, v, http.StatusBadRequest, name, "The two passwords are not the same. Type the same password twice.")
	}
	// Setting the password first checks it (length) before the invitation
	// is spent, so a too-short password can be corrected on the same link.
	patch := team.UserPatch{Password: &password}
	if name != "" {
		patch.Name = &name
	}
	if _, err := s.cfg.Teams.UpdateUser(ctx, inv.UserID, patch); err != nil {
		if apperr.KindOf(err) == apperr.Invalid {
			msg := "Choose another password."
			if e, ok := apperr.As(err); ok && e.Message != "" {
				msg = strings.ToUpper(e.Message[:1]) + e.Message[1:] + "."
			}
			return s.renderInvite(w, r, v, http.StatusBadRequest, name, msg)
		}
		return err
	}
	if err := s.invites().use(ctx, token, inv.UserID); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return s.renderInvite(w, r, v, http.StatusNotFound, "", "")
		}
		return err
	}
	s.cfg.Log.Info("invitation accepted", "user_id", inv.UserID)
	return s.startSession(w, r, inv.UserID, "invite", "/inbox")
}
