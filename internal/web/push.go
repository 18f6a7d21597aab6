package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// rulesURL is where a member sets which contact methods alerts use.
const rulesURL = "/profile#rules"

// pushState is what the profile's script learns about this device.
type pushState struct {
	Registered      bool   `json:"registered"`
	ContactMethodID string `json:"contactMethodId,omitempty"`
	Label           string `json:"label,omitempty"`
	// InRules is whether a notification rule sends alerts to this device;
	// when not, the page says so and links to RulesURL.
	InRules  bool   `json:"inRules"`
	RulesURL string `json:"rulesUrl"`
	Message  string `json:"message,omitempty"`
}

// pushSubscribe stores the browser's push subscription as a contact method
// on channel push. Subscribing again from the same browser (same endpoint)
// re-uses the contact method, so a device never shows up twice.
func (s *Server) pushSubscribe(w http.ResponseWriter, r *http.Request, v *view) error {
	if s.cfg.Channels == nil {
		return apperr.New(apperr.Unavailable, "push is not set up on this server")
	}
	raw := strings.TrimSpace(r.PostFormValue("subscription"))
	if raw == "" {
		return apperr.New(apperr.Invalid, "the browser sent no push subscription; reload the page and turn push on again")
	}
	addr, err := s.cfg.Channels.ValidateAddress("push", raw)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ep := endpointOf(addr)
	old, found, err := s.pushMethod(ctx, v.User.ID, ep)
	if err != nil {
		return err
	}
	label := deviceLabel(r.UserAgent())
	var cm team.ContactMethod
	msg := "This device gets push alerts now."
	switch {
	case found && old.Address == addr:
		cm, msg = old, "This device already gets push alerts."
	case found:
		// Same browser, new keys: keep the device's place in the rules.
		if cm, err = s.replacePushMethod(ctx, v.User.ID, old, addr); err != nil {
			return err
		}
	default:
		if cm, err = s.cfg.Teams.AddContactMethod(ctx, v.User.ID, "push", addr, label); err != nil {
			return err
		}
		s.cfg.Log.Info("push subscription added", "user_id", v.User.ID, "contact_method_id", cm.ID, "device", label)
	}
	st, err := s.pushStateOf(ctx, v.User.ID, cm)
	if err != nil {
		return err
	}
	return pushAnswer(w, r, st, msg)
}

// pushStatus tells the script whether the browser's subscription is stored
// (it may have been removed on another device).
func (s *Server) pushStatus(w http.ResponseWriter, r *http.Request, v *view) error {
	cm, found, err := s.pushMethod(r.Context(), v.User.ID, r.PostFormValue("endpoint"))
	if err != nil {
		return err
	}
	st := pushState{RulesURL: rulesURL}
	if found {
		if st, err = s.pushStateOf(r.Context(), v.User.ID, cm); err != nil {
			return err
		}
	}
	return pushAnswer(w, r, st, "")
}

// pushTest sends a test notification to this device through the push
// channel, as the API's contact method test does.
func (s *Server) pushTest(w http.ResponseWriter, r *http.Request, v *view) error {
	if s.cfg.Channels == nil {
		return apperr.New(apperr.Unavailable, "push is not set up on this server")
	}
	cm, found, err := s.pushMethod(r.Context(), v.User.ID, r.PostFormValue("endpoint"))
	if err != nil {
		return err
	}
	if !found {
		return apperr.New(apperr.NotFound, "this device does not get push alerts yet; turn push on first")
	}
	_, err = s.cfg.Channels.Send(r.Context(), notify.Message{Channel: "push", Address: cm.Address, Kind: notify.KindTest, UserID: v.User.ID,
		NotificationID: "test-" + store.NewID(), Title: "lastmile test notification", Severity: "info",
		Text: "This is a test from lastmile. If you can read it, alerts reach this device.", AlertURL: s.cfg.BaseURL + "/profile"})
	if err != nil {
		return err
	}
	st, err := s.pushStateOf(r.Context(), v.User.ID, cm)
	if err != nil {
		return err
	}
	return pushAnswer(w, r, st, "Test sent: it should show up in a few seconds.")
}

// pushUnsubscribe removes this device's contact method. Only the signed-in
// user's own are looked at, so another user's subscription from the same
// browser stays.
func (s *Server) pushUnsubscribe(w http.ResponseWriter, r *http.Request, v *view) error {
	cm, found, err := s.pushMethod(r.Context(), v.User.ID, r.PostFormValue("endpoint"))
	if err != nil {
		return err
	}
	msg := "This device was not getting push alerts."
	if found {
		if err := s.cfg.Teams.DeleteContactMethod(r.Context(), v.User.ID, cm.ID); err != nil {
			return err
		}
		msg = "Push is off for this device."
		s.cfg.Log.Info("push subscription removed", "user_id", v.User.ID, "contact_method_id", cm.ID)
	}
	return pushAnswer(w, r, pushState{RulesURL: rulesURL}, msg)
}

func pushAnswer(w http.ResponseWriter, r *http.Request, st pushState, msg string) error {
	if wantsJSON(r) {
		st.Message = msg
		writeJSON(w, http.StatusOK, st)
		return nil
	}
	return redirect(w, r, "/profile#push-device", msg)
}

// pushMethod finds the user's push contact method for the endpoint.
func (s *Server) pushMethod(ctx context.Context, userID, endpoint string) (team.ContactMethod, bool, error) {
	if endpoint == "" {
		return team.ContactMethod{}, false, apperr.New(apperr.Invalid, "the browser sent no push endpoint; reload the page and try again")
	}
	cms, err := s.cfg.Teams.ContactMethods(ctx, userID)
	if err != nil {
		return team.ContactMethod{}, false, err
	}
	for _, c := range cms {
		if c.Channel == "push" && endpointOf(c.Address) == endpoint {
			return c, true, nil
		}
	}
	return team.ContactMethod{}, false, nil
}

// replacePushMethod swaps a device's subscription for a new one with the
// same endpoint, keeping the label and the rules that use it.
func (s *Server) replacePushMethod(ctx context.Context, userID string, old team.ContactMethod, addr string) (team.ContactMethod, error) {
	rules, err := s.cfg.Teams.UserRules(ctx, userID)
	if err != nil {
		return team.ContactMethod{}, err
	}
	cm, err := s.cfg.Teams.AddContactMethod(ctx, userID, "push", addr, old.Label)
	if err != nil {
		return team.ContactMethod{}, err
	}
	used := false
	for i := range rules {
		if rules[i].ContactMethodID == old.ID {
			rules[i].ContactMethodID, used = cm.ID, true
		}
	}
	if used {
		if _, err := s.cfg.Teams.SetUserRules(ctx, userID, rules); err != nil {
			return team.ContactMethod{}, err
		}
	}
	if err := s.cfg.Teams.DeleteContactMethod(ctx, userID, old.ID); err != nil {
		return team.ContactMethod{}, err
	}
	return cm, nil
}

// pushStateOf says whether any notification rule reaches the device: the
// member's own rules if they have any, else their teams' defaults (see
// team.RulesFor).
func (s *Server) pushStateOf(ctx context.Context, userID string, cm team.ContactMethod) (pushState, error) {
	st := pushState{Registered: true, ContactMethodID: cm.ID, Label: cm.Label, RulesURL: rulesURL}
	own, err := s.cfg.Teams.UserRules(ctx, userID)
	if err != nil {
		return st, err
	}
	if len(own) > 0 {
		st.InRules = slices.ContainsFunc(own, func(r team.UserRule) bool { return r.ContactMethodID == cm.ID })
		return st, nil
	}
	teams, err := s.cfg.Teams.TeamsOf(ctx, userID)
	if err != nil {
		return st, err
	}
	for _, t := range teams {
		rules, err := s.cfg.Teams.RulesFor(ctx, t.ID, userID)
		if err != nil {
			return st, err
		}
		if slices.ContainsFunc(rules, func(r team.EffectiveRule) bool { return r.ContactMethodID == cm.ID }) {
			st.InRules = true
			break
		}
	}
	return st, nil
}

// endpointOf is the endpoint of a stored (validated) subscription.
func endpointOf(address string) string {
	var sub struct {
		Endpoint string `json:"endpoint"`
	}
	if json.Unmarshal([]byte(address), &sub) != nil {
		return ""
	}
	return sub.Endpoint
}
