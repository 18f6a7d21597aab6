// Package teams is the Microsoft Teams channel: it posts alerts as Adaptive
// Cards to a Teams Workflows webhook (or a legacy Office 365 connector URL)
// that a member or a team channel saved as its address. Such webhooks
// cannot take button presses, so the card's buttons open lastmile's
// confirm pages, and status changes are posted as short follow-up cards.
package teams

import (
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// Settings are empty: each address carries its own credential (the sig
// parameter of the workflow URL).
type Settings struct{}

// Provider describes the Teams provider: no settings, the "teams" channel
// and the check of members' addresses.
func Provider() notify.Provider {
	return notify.Provider{
		Name:            "teams",
		Channels:        []string{"teams"},
		Build:           build,
		ValidateAddress: ValidateAddress,
	}
}

func build(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	return []notify.Channel{New(d)}, nil
}

var errAddress = errors.New("a Teams address is the URL of a Workflows webhook: in Teams, open the channel's ⋯ menu, Workflows, " +
	"\"Post to a channel when a webhook request is received\", and copy the URL it shows; it looks like " +
	"https://prod-00.westeurope.logic.azure.com/workflows/…/triggers/manual/paths/invoke?…&sig=… " +
	"or https://….environment.api.powerplatform.com/…")

// ValidateAddress checks a Teams webhook URL and returns its canonical
// form. Any https URL is accepted: Microsoft has used several hosts.
func ValidateAddress(_ string, addr string) (string, error) {
	u, err := parseAddress(addr)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func parseAddress(addr string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(addr))
	if err != nil || u.Host == "" || u.User != nil || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, errAddress
	}
	u.Fragment = ""
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLegacy tells Office 365 connector URLs, which answer 200 "1", from
// Workflows ones.
func isLegacy(u *url.URL) bool {
	h := strings.ToLower(u.Hostname())
	return h == "webhook.office.com" || strings.HasSuffix(h, ".webhook.office.com")
}
