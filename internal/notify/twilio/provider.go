// Package twilio sends SMS and places voice calls through Twilio's REST API,
// and takes Twilio's callbacks: SMS replies, keypresses during a call and
// delivery reports, each checked against X-Twilio-Signature before anything
// else happens.
package twilio

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

const (
	defaultAPIURL   = "https://api.twilio.com"
	defaultLanguage = "en-US"
	// maxBody bounds every body read: Twilio's answers and its callbacks.
	maxBody = 64 << 10
)

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	languagePattern   = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)
	voiceNamePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// Settings are what an administrator saves for the "twilio" provider.
type Settings struct {
	AccountSID string `json:"accountSid"`
	AuthToken  string `json:"authToken"`
	// FromNumber sends SMS (unless MessagingServiceSID is set) and places
	// calls; voice needs it.
	FromNumber string `json:"fromNumber"`
	// MessagingServiceSID lets Twilio pick the SMS sender from a
	// Messaging Service.
	MessagingServiceSID string `json:"messagingServiceSid"`
	// APIURL is Twilio's REST API; tests point it at a fake.
	APIURL        string `json:"apiUrl"`
	VoiceLanguage string `json:"voiceLanguage"`
	VoiceName     string `json:"voiceName"`
}

// Provider returns the Twilio provider: channels "sms" and "voice" sharing
// one account.
func Provider() notify.Provider {
	return notify.Provider{
		Name:            "twilio",
		Channels:        []string{"sms", "voice"},
		Secrets:         []string{"authToken"},
		Build:           build,
		ValidateAddress: ValidateAddress,
	}
}

func build(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	c := newClient(s, d)
	return []notify.Channel{&SMS{c: c}, &Voice{c: c}}, nil
}

// validate checks the settings, fills defaults and says in plain words what
// is wrong, naming the field.
func (s *Settings) validate() error {
	s.AccountSID = strings.TrimSpace(s.AccountSID)
	s.AuthToken = strings.TrimSpace(s.AuthToken)
	s.FromNumber = strings.TrimSpace(s.FromNumber)
	s.MessagingServiceSID = strings.TrimSpace(s.MessagingServiceSID)
	s.APIURL = strings.TrimRight(strings.TrimSpace(s.APIURL), "/")
	s.VoiceLanguage = strings.TrimSpace(s.VoiceLanguage)
	s.VoiceName = strings.TrimSpace(s.VoiceName)

	switch {
	case s.AccountSID == "" && s.AuthToken == "":
		return fmt.Errorf("accountSid and authToken are required (%w)", notify.ErrNotConfigured)
	case s.AccountSID == "":
		return fmt.Errorf("accountSid is required (%w)", notify.ErrNotConfigured)
	case s.AuthToken == "":
		return fmt.Errorf("authToken is required (%w)", notify.ErrNotConfigured)
	}
	if !accountSIDPattern.MatchString(s.AccountSID) {
		return fmt.Errorf("accountSid %q is not a Twilio Account SID: it is AC followed by 32 hexadecimal digits, shown under Account Info in the Twilio console", s.AccountSID)
	}
	if strings.ContainsFunc(s.AuthToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("authToken contains spaces or control characters: copy it again from Account Info in the Twilio console")
	}
	if s.FromNumber != "" && !e164Pattern.MatchString(s.FromNumber) {
		return fmt.Errorf("fromNumber %q is not a phone number in E.164 form: + and the country code, no spaces (e.g. +14155550100)", s.FromNumber)
	}
	if s.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(s.MessagingServiceSID) {
		return fmt.Errorf("messagingServiceSid %q is not a Messaging Service SID: it is MG followed by 32 hexadecimal digits", s.MessagingServiceSID)
	}
	if s.FromNumber == "" && s.MessagingServiceSID == "" {
		return fmt.Errorf("fromNumber is required: a phone number of the Twilio account in E.164 form (e.g. +14155550100), or a messagingServiceSid for SMS only")
	}
	if s.APIURL == "" {
		s.APIURL = defaultAPIURL
	}
	if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("apiUrl %q is not an absolute http(s) URL; leave it out to use %s", s.APIURL, defaultAPIURL)
	}
	if s.VoiceLanguage == "" {
		s.VoiceLanguage = defaultLanguage
	}
	if !languagePattern.MatchString(s.VoiceLanguage) {
		return fmt.Errorf("voiceLanguage %q is not a language tag like en-US or de-DE", s.VoiceLanguage)
	}
	if s.VoiceName != "" && !voiceNamePattern.MatchString(s.VoiceName) {
		return fmt.Errorf("voiceName %q is not a Twilio voice name like Polly.Joanna or Google.en-US-Standard-C", s.VoiceName)
	}
	return nil
}

// ValidateAddress turns a member's phone number, written with spaces,
// dashes, dots or brackets, into E.164: what Twilio sends to.
func ValidateAddress(channel, address string) (string, error) {
	if channel != "sms" && channel != "voice" {
		return "", fmt.Errorf("twilio does not serve channel %q", channel)
	}
	s := strings.TrimSpace(address)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", fmt.Errorf("phone number %q must start with + and the country code (E.164, e.g. +4915112345678)", address)
	}
	// "+49 (0)151 …" writes the national trunk prefix, which is not dialled
	// from abroad.
	s = strings.Replace(s, "(0)", "", 1)
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return "", fmt.Errorf("phone number %q has an unexpected character %q", address, r)
		}
	}
	if !e164Pattern.MatchString(b.String()) {
		return "", fmt.Errorf("phone number %q is not a valid E.164 number (7 to 15 digits after +, no leading 0)", address)
	}
	return b.String(), nil
}

// client is the account both channels share.
type client struct {
	s    Settings
	d    notify.Deps
	http *http.Client
	log  *slog.Logger
}

func newClient(s Settings, d notify.Deps) *client {
	c := &client{s: s, d: d, http: d.HTTP, log: d.Log}
	if c.http == nil {
		c.http = &http.Client{Timeout: 15 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.d.BaseURL = strings.TrimRight(c.d.BaseURL, "/")
	return c
}

// callbackURL is where Twilio reaches this server for path.
func (c *client) callbackURL(path string) string {
	return c.d.BaseURL + "/callbacks/twilio/" + path
}
