package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// profileZones are offered as suggestions for the time zone; any IANA name
// is accepted (a select of all 600 would weigh more than the page).
var profileZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Berlin", "Europe/Paris", "Europe/Amsterdam",
	"Europe/Brussels", "Europe/Zurich", "Europe/Vienna", "Europe/Rome", "Europe/Madrid", "Europe/Stockholm",
	"Europe/Oslo", "Europe/Copenhagen", "Europe/Helsinki", "Europe/Warsaw", "Europe/Prague", "Europe/Athens",
	"Europe/Istanbul", "Europe/Kyiv", "Europe/Moscow", "Africa/Johannesburg", "Africa/Lagos", "Africa/Cairo",
	"Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Hong_Kong", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Perth", "Australia/Sydney", "Pacific/Auckland", "America/St_Johns", "America/Halifax",
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu", "America/Mexico_City", "America/Bogota", "America/Sao_Paulo",
	"America/Argentina/Buenos_Aires",
}

// profileData is everything the profile page shows.
type profileData struct {
	User  team.User
	Zones []string
	// Contacts are the addresses on every channel but push; Devices are
	// the browsers and phones subscribed to push.
	Contacts []profileContact
	Devices  []profileContact
	// AddChannels are the channels the add form offers.
	AddChannels []string
	Rules       profileRulesData
	Sessions    []profileSession
}

func (s *Server) profilePage(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	d := profileData{User: v.User, Zones: profileZones, AddChannels: profileChannels}
	if !slices.Contains(d.Zones, v.User.TimeZone) {
		d.Zones = append([]string{v.User.TimeZone}, d.Zones...)
	}
	cms, err := s.cfg.Teams.ContactMethods(ctx, v.User.ID)
	if err != nil {
		return err
	}
	for _, c := range cms {
		pc := s.profileContact(c)
		if c.Channel == "push" {
			d.Devices = append(d.Devices, pc)
		} else {
			d.Contacts = append(d.Contacts, pc)
		}
	}
	if d.Rules, err = s.profileRulesData(ctx, v, cms); err != nil {
		return err
	}
	if d.Sessions, err = s.profileSessions(ctx, v); err != nil {
		return err
	}
	v.Title, v.Nav = "Profile", "profile"
	return s.render(w, v, "profile", d)
}

// profileSave changes the user's name and time zone.
func (s *Server) profileSave(w http.ResponseWriter, r *http.Request, v *view) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	tz := strings.TrimSpace(r.PostFormValue("timeZone"))
	switch {
	case name == "":
		return apperr.New(apperr.Invalid, "enter your name: it is how teammates see you on duty and in timelines")
	case utf8.RuneCountInString(name) > 100:
		return apperr.New(apperr.Invalid, "your name may have at most 100 characters")
	case tz == "":
		return apperr.New(apperr.Invalid, "enter a time zone, for example Europe/Berlin")
	}
	if _, err := s.cfg.Teams.UpdateUser(r.Context(), v.User.ID, team.UserPatch{Name: &name, TimeZone: &tz}); err != nil {
		return err
	}
	return redirect(w, r, "/profile#me", "Saved. Times are shown in "+tz+".")
}

// profilePassword changes the user's password after checking the current
// one, and ends the user's other sessions: whoever knew the old password
// may be signed in somewhere.
func (s *Server) profilePassword(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	current, next := r.PostFormValue("current"), r.PostFormValue("new")
	key := strings.ToLower(v.User.Email)
	if !s.throttle.allow(key, s.cfg.Clock.Now()) {
		return apperr.New(apperr.Invalid, "too many wrong passwords; wait 15 minutes and try again")
	}
	if _, err := s.cfg.Teams.CheckPassword(ctx, v.User.Email, current); err != nil {
		if apperr.KindOf(err) != apperr.Unauthorized {
			return err
		}
		s.throttle.fail(key, s.cfg.Clock.Now())
		return apperr.New(apperr.Invalid, "your current password is not right")
	}
	if next != r.PostFormValue("repeat") {
		return apperr.New(apperr.Invalid, "the new password and its repetition differ")
	}
	if next == current {
		return apperr.New(apperr.Invalid, "the new password is the same as the current one")
	}
	if err := s.cfg.Teams.SetPassword(ctx, v.User.ID, next); err != nil {
		return err
	}
	s.throttle.reset(key)
	n, err := s.cfg.Sessions.DeleteOthers(ctx, v.User.ID, v.Session.ID)
	if err != nil {
		return err
	}
	s.cfg.Log.Info("password changed", "user_id", v.User.ID, "other_sessions_ended", n)
	return redirect(w, r, "/profile#password", fmt.Sprintf("Password changed. %s signed out.", profileCount(n, "other session was", "other sessions were")))
}

func profileCount(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// profileChannelReady reports whether a channel can send now, and if not,
// why not in words for the button.
func (s *Server) profileChannelReady(channel string) (bool, string) {
	if s.cfg.Channels == nil {
		return false, "channels are not set up on this server"
	}
	if _, real := s.cfg.Channels.Channel(channel); !real {
		return false, "the " + channel + " channel is not set up on this server"
	}
	return true, ""
}
