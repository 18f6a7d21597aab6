package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// profileChannels are the channels a member adds by hand; push devices are
// added by the push script on the device itself.
var profileChannels = []string{"sms", "voice", "email", "ntfy", "webhook", "slack", "teams"}

// profileContact is a contact method with what its buttons need.
type profileContact struct {
	team.ContactMethod
	// NeedsCode: the address waits for its verification code.
	NeedsCode bool
	// Ready: the channel can send now; NotReady says why not.
	Ready    bool
	NotReady string
}

func (s *Server) profileContact(c team.ContactMethod) profileContact {
	pc := profileContact{ContactMethod: c, NeedsCode: !c.Verified && team.NeedsVerification(c.Channel)}
	pc.Ready, pc.NotReady = s.profileChannelReady(c.Channel)
	return pc
}

// profileContactName names an address in a message.
func profileContactName(c team.ContactMethod) string {
	if c.Label != "" {
		return c.Label + " (" + c.Channel + ")"
	}
	return c.Channel + " " + c.Address
}

func (s *Server) profileAddContact(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	channel := strings.ToLower(strings.TrimSpace(r.PostFormValue("channel")))
	addr := strings.TrimSpace(r.PostFormValue("address"))
	switch {
	case channel == "push":
		return apperr.New(apperr.Invalid, "push devices are added with “Enable push on this device” under Devices, on the device itself")
	case !slices.Contains(profileChannels, channel):
		return apperr.New(apperr.Invalid, "choose a channel: %s", strings.Join(profileChannels, ", "))
	case addr == "":
		return apperr.New(apperr.Invalid, "enter the %s address", channel)
	}
	if s.cfg.Channels != nil {
		var err error
		if addr, err = s.cfg.Channels.ValidateAddress(channel, addr); err != nil {
			return err
		}
	}
	cm, err := s.cfg.Teams.AddContactMethod(ctx, v.User.ID, channel, addr, r.PostFormValue("label"))
	if err != nil {
		return err
	}
	if cm.Verified {
		return redirect(w, r, "/profile#contacts", "Added "+profileContactName(cm)+". Send a test to check it works.")
	}
	// The first code goes out at once; if it cannot, the address is kept
	// and the member asks again once the channel works.
	if err := s.profileStartVerification(ctx, v.User.ID, cm.ID); err != nil {
		setFlash(w, "error", "Added "+profileContactName(cm)+", but the code could not be sent: "+profileErrorText(err))
		return redirect(w, r, "/profile#contacts", "")
	}
	return redirect(w, r, "/profile#contacts", "Added "+profileContactName(cm)+". We sent a six-digit code there; type it below to verify.")
}

// profileStartVerification makes a code and sends it, forgetting the code
// if it could not be sent so that the member may ask again at once.
func (s *Server) profileStartVerification(ctx context.Context, userID, id string) error {
	cm, err := s.cfg.Teams.ContactMethod(ctx, userID, id)
	if err != nil {
		return err
	}
	if ok, why := s.profileChannelReady(cm.Channel); !ok {
		return apperr.New(apperr.Unavailable, "%s; ask an administrator", why)
	}
	cm, code, err := s.cfg.Teams.StartVerification(ctx, userID, id)
	if err != nil {
		return err
	}
	_, err = s.cfg.Channels.Send(ctx, notify.Message{Channel: cm.Channel, Address: cm.Address, Kind: notify.KindVerify, UserID: userID,
		NotificationID: "verify-" + cm.ID, Code: code, Title: "lastmile verification code",
		Text: "Your lastmile verification code is " + code + ". It expires in 10 minutes."})
	if err != nil {
		if cerr := s.cfg.Teams.CancelVerification(ctx, userID, id); cerr != nil {
			s.cfg.Log.Warn("forget unsent verification code", "err", cerr)
		}
		return err
	}
	return nil
}

// profileErrorText is an error as a member may read it.
func profileErrorText(err error) string {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		return e.Message
	}
	return "something went wrong on the server; try again in a moment"
}

func (s *Server) profileSendCode(w http.ResponseWriter, r *http.Request, v *view) error {
	cm, err := s.cfg.Teams.ContactMethod(r.Context(), v.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.profileStartVerification(r.Context(), v.User.ID, cm.ID); err != nil {
		return err
	}
	return redirect(w, r, "/profile#contacts", "We sent a new code to "+profileContactName(cm)+". It works for 10 minutes.")
}

func (s *Server) profileVerify(w http.ResponseWriter, r *http.Request, v *view) error {
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return apperr.New(apperr.Invalid, "the code has six digits")
	}
	cm, err := s.cfg.Teams.Verify(r.Context(), v.User.ID, r.PathValue("id"), code)
	if err != nil {
		return err
	}
	return redirect(w, r, "/profile#contacts", "Verified: "+profileContactName(cm)+" now receives alerts.")
}

// profileTestContact sends a test notification to one of the user's
// verified addresses, as the REST API's test does.
func (s *Server) profileTestContact(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	cm, err := s.cfg.Teams.ContactMethod(ctx, v.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if ok, why := s.profileChannelReady(cm.Channel); !ok {
		return apperr.New(apperr.Unavailable, "%s; ask an administrator", why)
	}
	if !cm.Verified {
		return apperr.New(apperr.Conflict, "verify this address first")
	}
	_, err = s.cfg.Channels.Send(ctx, notify.Message{Channel: cm.Channel, Address: cm.Address, Kind: notify.KindTest, UserID: v.User.ID,
		NotificationID: "test-" + store.NewID(), Title: "lastmile test notification", Severity: "info",
		Text: "This is a test from lastmile. If you can read it, alerts reach you here."})
	if err != nil {
		return err
	}
	return redirect(w, r, "/profile#contacts", "Test sent to "+profileContactName(cm)+".")
}

func (s *Server) profileDeleteContact(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	cm, err := s.cfg.Teams.ContactMethod(ctx, v.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.cfg.Teams.DeleteContactMethod(ctx, v.User.ID, cm.ID); err != nil {
		return err
	}
	to, what := "/profile#contacts", "Removed "+profileContactName(cm)+"."
	if cm.Channel == "push" {
		name := cm.Label
		if name == "" {
			name = "unnamed device"
		}
		to, what = "/profile#devices", "Removed "+name+": it gets no more push notifications."
	}
	return redirect(w, r, to, what)
}
