package web

import (
	"context"
	"strings"
	"time"
)

// profileSession is one signed-in browser as the profile lists it.
type profileSession struct {
	Browser  string
	Method   string
	Created  time.Time
	LastSeen time.Time
	// Current marks the browser looking at the page.
	Current bool
}

func (s *Server) profileSessions(ctx context.Context, v *view) ([]profileSession, error) {
	list, err := s.cfg.Sessions.List(ctx, v.User.ID)
	if err != nil {
		return nil, err
	}
	out := make([]profileSession, 0, len(list))
	for _, ss := range list {
		out = append(out, profileSession{
			Browser: profileBrowser(ss.UserAgent), Method: profileSignInMethod(ss.Method), Created: ss.Created, LastSeen: ss.LastSeen,
			// The list holds no cookie values, only what is safe to show;
			// the start time and browser pick out this one.
			Current: ss.Created.Equal(v.Session.Created) && ss.UserAgent == v.Session.UserAgent,
		})
	}
	return out, nil
}

func profileSignInMethod(m string) string {
	switch m {
	case "password":
		return "password"
	case "oidc":
		return "single sign-on"
	case "invite":
		return "invitation link"
	}
	return m
}

// profileBrowser names a browser and system from a user agent, well enough
// for a person to tell their phone from their laptop.
func profileBrowser(ua string) string {
	if ua == "" {
		return "Unknown browser"
	}
	browser := "Browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Firefox/", "Firefox"},
		{"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
