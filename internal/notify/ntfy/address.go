package ntfy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// topicRE is what ntfy accepts as a topic name.
var topicRE = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// ValidateAddress checks a member's ntfy address: a topic name on the
// configured server ("lastmile-ana-7f3k2"), or the full URL of a topic on
// another server ("https://ntfy.example.org/ana-alerts"). It returns the
// canonical form.
func ValidateAddress(channel, address string) (string, error) {
	a := strings.TrimSpace(address)
	if !strings.Contains(a, "://") {
		if !topicRE.MatchString(a) {
			return "", fmt.Errorf("%q is not an ntfy topic: use 1 to 64 letters, digits, - and _, or the full https:// URL of a topic on another ntfy server", address)
		}
		return a, nil
	}
	u, err := url.Parse(a)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %v", address, err)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("%q: the URL of a topic on another ntfy server must start with https://, so its action links are not sent in the clear", address)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%q has no server name", address)
	}
	if u.User != nil {
		return "", fmt.Errorf("%q must not contain a user name or password", address)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not have a query (?…) or fragment (#…)", address)
	}
	topic := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/")
	if topic == "" {
		return "", fmt.Errorf("%q names no topic: add it to the URL, like https://%s/my-alerts", address, u.Host)
	}
	if !topicRE.MatchString(topic) {
		return "", fmt.Errorf("%q: the topic %q must be 1 to 64 letters, digits, - and _, right after the server name", address, topic)
	}
	return "https://" + strings.ToLower(u.Host) + "/" + topic, nil
}

// target is where a message for an address is published.
type target struct {
	base  string // the server URL, without a trailing slash
	topic string
	own   bool // the configured server: use its credentials and deps.HTTP
}

// targetOf resolves a member's address against the configured server.
func (c *config) targetOf(address string) (target, error) {
	a, err := ValidateAddress("ntfy", address)
	if err != nil {
		return target{}, err
	}
	if !strings.Contains(a, "://") {
		return target{base: c.server.String(), topic: a, own: true}, nil
	}
	u, _ := url.Parse(a) // ValidateAddress parsed it
	topic := strings.TrimPrefix(u.Path, "/")
	if c.server.Path == "" && origin(u) == origin(c.server) {
		return target{base: c.server.String(), topic: topic, own: true}, nil
	}
	return target{base: "https://" + u.Host, topic: topic}, nil
}
