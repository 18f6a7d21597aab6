// Package slack is the Slack channel: it posts alerts as Block Kit
// messages to an incoming webhook or, with a bot token, to a channel through
// the Web API; it takes button clicks back on the interactivity callback,
// checked with the app's signing secret, and marks messages acknowledged or
// closed when their alert changes.
package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api"

// Settings are what an administrator saves for Slack. All of them are
// optional: incoming webhooks need none.
type Settings struct {
	// SigningSecret checks that button clicks come from Slack. Without it
	// buttons are links to lastmile's confirm page.
	SigningSecret string `json:"signingSecret"`
	// BotToken (xoxb-…) posts to channel:C… addresses and updates messages.
	BotToken string `json:"botToken"`
	// APIURL is the Web API's base; tests point it at a fake.
	APIURL string `json:"apiUrl"`
}

// Provider describes the Slack provider: settings, the "slack" channel
// and the check of members' addresses.
func Provider() notify.Provider {
	return notify.Provider{
		Name:            "slack",
		Channels:        []string{"slack"},
		Secrets:         []string{"signingSecret", "botToken"},
		Build:           build,
		ValidateAddress: ValidateAddress,
	}
}

func build(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	c, err := New(s, d)
	if err != nil {
		return nil, err
	}
	return []notify.Channel{c}, nil
}

// check validates s and fills defaults. Its errors name the field and never
// repeat a secret.
func (s *Settings) check() error {
	s.SigningSecret = strings.TrimSpace(s.SigningSecret)
	s.BotToken = strings.TrimSpace(s.BotToken)
	s.APIURL = strings.TrimRight(strings.TrimSpace(s.APIURL), "/")
	if s.SigningSecret != "" && (len(s.SigningSecret) < 16 || strings.ContainsAny(s.SigningSecret, " \t\r\n")) {
		return errors.New("signingSecret does not look like a Slack signing secret: copy it from your Slack app's Basic Information page, App Credentials, Signing Secret")
	}
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken, "xoxb-") && !strings.HasPrefix(s.BotToken, "xoxe.xoxb-") {
		return errors.New("botToken must be a bot token, which starts with xoxb-: copy the Bot User OAuth Token from your Slack app's OAuth & Permissions page")
	}
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(s.APIURL)
	if err != nil || u.Host == "" || u.RawQuery != "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return fmt.Errorf("apiUrl %q is not an https URL: leave it out to use %s", s.APIURL, DefaultAPIURL)
	}
	return nil
}

// address is a member's Slack destination.
type address struct {
	webhook string // an incoming webhook URL, or
	channel string // a channel ID for the Web API
}

var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{5,20}$`)

// ValidateAddress checks a Slack address, an incoming webhook URL or
// channel:C0123ABC, and returns its canonical form.
func ValidateAddress(_ string, addr string) (string, error) {
	a, err := parseAddress(addr)
	if err != nil {
		return "", err
	}
	if a.channel != "" {
		return "channel:" + a.channel, nil
	}
	return a.webhook, nil
}

func parseAddress(addr string) (address, error) {
	addr = strings.TrimSpace(addr)
	if len(addr) > len("channel:") && strings.EqualFold(addr[:len("channel:")], "channel:") {
		id := strings.ToUpper(strings.TrimSpace(addr[len("channel:"):]))
		if !channelID.MatchString(id) {
			return address{}, errors.New("a Slack channel ID looks like channel:C0123ABC (not the channel's name): in Slack, open the channel's details; the ID is at the bottom of the About tab")
		}
		return address{channel: id}, nil
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || u.User != nil || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return address{}, errors.New("a Slack address is an incoming webhook URL (https://hooks.slack.com/services/…) or a channel ID written channel:C0123ABC")
	}
	u.Fragment = ""
	return address{webhook: u.String()}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
