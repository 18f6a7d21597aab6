package ntfy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// DefaultServer is used when the settings name no server. Topics on it
// are public: anyone who guesses a topic name can read it.
const DefaultServer = "https://ntfy.sh"

// Settings are what an administrator saves for the ntfy provider.
type Settings struct {
	ServerURL string `json:"serverUrl,omitempty"`
	// Token is an ntfy access token (tk_…), sent as a bearer token.
	Token string `json:"token,omitempty"`
	// Username and Password are the alternative: basic auth.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Priority overrides the ntfy priority (1-5) of some severities.
	Priority map[string]int `json:"priority,omitempty"`
}

// severityNames are the severities priority can be set for.
var severityNames = []string{"critical", "high", "medium", "low", "info"}

// defaultPriority maps severities to ntfy priorities: 5 is "max/urgent"
// (a long vibration burst and a pop-over), 4 "high", 3 "default".
var defaultPriority = map[string]int{"critical": 5, "high": 5, "medium": 4, "low": 3, "info": 2}

type config struct {
	server   *url.URL // no trailing slash
	token    string
	username string
	password string
	priority map[string]int
}

func parseSettings(raw json.RawMessage) (*config, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	c := &config{token: strings.TrimSpace(s.Token), username: s.Username, password: s.Password, priority: map[string]int{}}
	server := strings.TrimSpace(s.ServerURL)
	if server == "" {
		server = DefaultServer
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("ntfy: serverUrl %q is not an http(s) URL like https://ntfy.example.com", s.ServerURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("ntfy: serverUrl must not hold a user name or password; use the username and password settings")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("ntfy: serverUrl %q must not have a query or fragment", s.ServerURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.Host = strings.ToLower(u.Host)
	c.server = u

	switch {
	case c.token != "" && (c.username != "" || c.password != ""):
		return nil, fmt.Errorf("ntfy: set either token or username and password, not both")
	case c.username == "" && c.password != "":
		return nil, fmt.Errorf("ntfy: password is set but username is missing")
	case c.username != "" && c.password == "":
		return nil, fmt.Errorf("ntfy: username is set but password is missing")
	case strings.ContainsAny(c.token, " \t\r\n"):
		return nil, fmt.Errorf("ntfy: token must not contain spaces or line breaks")
	case strings.Contains(c.username, ":"):
		return nil, fmt.Errorf("ntfy: username must not contain a colon")
	}

	for k, v := range defaultPriority {
		c.priority[k] = v
	}
	for k, v := range s.Priority {
		if !slices.Contains(severityNames, k) {
			return nil, fmt.Errorf("ntfy: priority names an unknown severity %q; use critical, high, medium, low or info", k)
		}
		if v < 1 || v > 5 {
			return nil, fmt.Errorf("ntfy: priority for %s is %d; ntfy priorities go from 1 (min) to 5 (max)", k, v)
		}
		c.priority[k] = v
	}
	return c, nil
}

// origin is scheme://host[:port] of u, for comparing servers.
func origin(u *url.URL) string {
	host := strings.ToLower(u.Host)
	if (u.Scheme == "https" && strings.HasSuffix(host, ":443")) || (u.Scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return u.Scheme + "://" + host
}
