package email

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/mail"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// Connection security modes.
const (
	SecurityStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587)
	SecurityTLS      = "tls"      // TLS from the first byte (port 465)
	SecurityNone     = "none"     // no encryption: loopback relays, or allowPlaintext
)

// Settings are what an administrator saves for the email provider.
type Settings struct {
	Host     string `json:"host"`
	Port     int    `json:"port,omitempty"`
	Security string `json:"security,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	From     string `json:"from"`
	HELO     string `json:"helo,omitempty"`
	// CAPEM is an extra CA to trust, for relays with an internal CA.
	CAPEM string `json:"caPem,omitempty"`
	// TLSServerName is the name expected on the server's certificate when
	// it differs from Host (a relay reached by IP address).
	TLSServerName string `json:"tlsServerName,omitempty"`
	// AllowPlaintext permits security "none" to a host that is not
	// loopback: mail and its action links cross the network readable.
	AllowPlaintext bool `json:"allowPlaintext,omitempty"`
}

// config is validated settings, ready to connect with.
type config struct {
	host       string
	port       int
	security   string
	username   string
	password   string
	from       *mail.Address
	helo       string
	roots      *x509.CertPool // nil: the system roots
	serverName string
}

func (c *config) addr() string { return net.JoinHostPort(c.host, fmt.Sprint(c.port)) }

// parseSettings decodes and checks raw; baseHost names this server in
// HELO when the settings do not.
func parseSettings(raw json.RawMessage, baseHost string) (*config, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	s.Host = strings.TrimSpace(s.Host)
	if strings.HasPrefix(s.Host, "[") && strings.HasSuffix(s.Host, "]") {
		s.Host = s.Host[1 : len(s.Host)-1] // an IPv6 literal; the port goes in port
	}
	s.From = strings.TrimSpace(s.From)
	switch {
	case s.Host == "" && s.From == "":
		return nil, fmt.Errorf("email: %w: set host (the SMTP server) and from (the sender address)", notify.ErrNotConfigured)
	case s.Host == "":
		return nil, fmt.Errorf("email: %w: host (the SMTP server's name) is missing", notify.ErrNotConfigured)
	case s.From == "":
		return nil, fmt.Errorf("email: %w: from (the sender address, like \"lastmile <alerts@example.com>\") is missing", notify.ErrNotConfigured)
	}
	c := &config{host: s.Host, username: s.Username, password: s.Password}
	if err := checkHost(s.Host); err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("email: from %q is not an email address (%v); write it like \"lastmile <alerts@example.com>\"", s.From, err)
	}
	c.from = from

	c.security = strings.ToLower(strings.TrimSpace(s.Security))
	switch c.security {
	case "":
		c.security = SecurityStartTLS
		if s.Port == 465 {
			c.security = SecurityTLS
		}
	case SecurityStartTLS, SecurityTLS, SecurityNone:
	default:
		return nil, fmt.Errorf("email: security %q is not one of \"starttls\" (port 587), \"tls\" (port 465) or \"none\"", s.Security)
	}
	c.port = s.Port
	switch {
	case c.port == 0 && c.security == SecurityTLS:
		c.port = 465
	case c.port == 0 && c.security == SecurityStartTLS:
		c.port = 587
	case c.port == 0:
		c.port = 25
	case c.port < 0 || c.port > 65535:
		return nil, fmt.Errorf("email: port %d is not a TCP port (1-65535)", s.Port)
	}

	if c.security == SecurityNone {
		if !isLoopback(s.Host) && !s.AllowPlaintext {
			return nil, fmt.Errorf("email: security \"none\" sends mail unencrypted to %s; it is only allowed for a relay on this machine (localhost) unless you also set allowPlaintext to true", s.Host)
		}
		if s.Username != "" || s.Password != "" {
			return nil, fmt.Errorf("email: username and password are never sent over an unencrypted connection; set security to \"starttls\" or \"tls\", or remove them")
		}
	}
	if s.AllowPlaintext && c.security != SecurityNone {
		return nil, fmt.Errorf("email: allowPlaintext only applies with security \"none\"; remove it")
	}
	if (s.Username == "") != (s.Password == "") {
		if s.Username == "" {
			return nil, fmt.Errorf("email: password is set but username is missing")
		}
		return nil, fmt.Errorf("email: username is set but password is missing")
	}

	c.helo = strings.TrimSpace(s.HELO)
	if c.helo == "" {
		c.helo = baseHost
	}
	if c.helo == "" {
		c.helo = "localhost"
	}
	if strings.ContainsAny(c.helo, " \t\r\n") {
		return nil, fmt.Errorf("email: helo %q must be a host name, without spaces", s.HELO)
	}

	if strings.TrimSpace(s.CAPEM) != "" {
		if c.security == SecurityNone {
			return nil, fmt.Errorf("email: caPem only applies to encrypted connections; security is \"none\"")
		}
		c.roots, err = x509.SystemCertPool()
		if err != nil || c.roots == nil {
			c.roots = x509.NewCertPool()
		}
		if !c.roots.AppendCertsFromPEM([]byte(s.CAPEM)) {
			return nil, fmt.Errorf("email: caPem holds no PEM certificate (it should start with -----BEGIN CERTIFICATE-----)")
		}
	}
	c.serverName = strings.TrimSpace(s.TLSServerName)
	if c.serverName == "" {
		c.serverName = s.Host
	} else if strings.ContainsAny(c.serverName, " \t\r\n/:") {
		return nil, fmt.Errorf("email: tlsServerName %q must be a host name", s.TLSServerName)
	}
	return c, nil
}

func checkHost(h string) error {
	if strings.Contains(h, "://") {
		return fmt.Errorf("email: host %q must be a host name like smtp.example.com, without a scheme", h)
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Errorf("email: host %q must not include a port; put the port in the port field", h)
	}
	if strings.ContainsAny(h, " \t\r\n/@") {
		return fmt.Errorf("email: host %q is not a host name", h)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
