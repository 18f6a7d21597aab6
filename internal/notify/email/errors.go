package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"

	"github.com/lastmile/lastmile/internal/notify"
)

// Steps of an SMTP conversation, named in errors.
const (
	stepConnect  = "connect"
	stepTLS      = "tls"
	stepGreeting = "greeting"
	stepHello    = "hello"
	stepStartTLS = "starttls"
	stepAuth     = "auth"
	stepMail     = "mail"
	stepRcpt     = "rcpt"
	stepData     = "data"
)

// explain turns an error from one step of talking to the SMTP server into
// one the engine can act on (5xx replies and configuration mistakes are
// Permanent, 4xx replies and network trouble are retried) with words an
// administrator understands. rcpt is the recipient, for stepRcpt.
func (c *config) explain(ctx context.Context, step, rcpt string, err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return c.explainReply(step, rcpt, reply)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("talking to the SMTP server %s stopped: %w", c.addr(), ctx.Err())
	}
	var (
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
		invalid   x509.CertificateInvalidError
		notTLS    tls.RecordHeaderError
		dnsErr    *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &unknownCA):
		return notify.Permanent(fmt.Errorf("the certificate of the SMTP server %s is not trusted (signed by an unknown authority); if your relay uses an internal CA, paste that CA certificate into caPem: %w", c.addr(), err))
	case errors.As(err, &badName):
		return notify.Permanent(fmt.Errorf("the certificate of the SMTP server %s is not valid for the name %q; set tlsServerName to a name on the certificate: %w", c.addr(), c.serverName, err))
	case errors.As(err, &invalid):
		return notify.Permanent(fmt.Errorf("the certificate of the SMTP server %s is not valid (expired, or not for a server): %w", c.addr(), err))
	case errors.As(err, &notTLS):
		return notify.Permanent(fmt.Errorf("the SMTP server %s did not answer with TLS; if it uses STARTTLS (usually port 587) set security to \"starttls\": %w", c.addr(), err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("could not connect to the SMTP server %s: connection refused; check host and port, and that the server is running: %w", c.addr(), err)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Errorf("could not find the SMTP server %s: no such host name in DNS; check host: %w", c.host, err)
		}
		return fmt.Errorf("could not look up the SMTP server %s in DNS: %w", c.host, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		hint := ""
		if step == stepGreeting && c.security != SecurityTLS {
			hint = "; if it expects TLS from the first byte (as on port 465) set security to \"tls\""
		}
		return fmt.Errorf("the SMTP server %s did not answer in time%s: %w", c.addr(), hint, err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the SMTP server %s closed the connection (%s): %w", c.addr(), stepWords(step), err)
	}
	return fmt.Errorf("talking to the SMTP server %s (%s): %w", c.addr(), stepWords(step), err)
}

func (c *config) explainReply(step, rcpt string, reply *textproto.Error) error {
	r := serverReply{reply}
	if step == stepAuth && reply.Code == 535 {
		return notify.Permanent(fmt.Errorf("the SMTP server refused the username or password (%w): %w", r, notify.ErrProviderRefused))
	}
	var what string
	switch step {
	case stepRcpt:
		what = fmt.Sprintf("the SMTP server refused the recipient %s", rcpt)
	case stepMail:
		what = fmt.Sprintf("the SMTP server refused the sender %s (check from, and that the user may send as it)", c.from.Address)
	case stepData:
		what = "the SMTP server refused the message"
	case stepAuth:
		what = "the SMTP server refused to log in"
	case stepStartTLS:
		what = "the SMTP server refused STARTTLS"
	case stepGreeting:
		what = "the SMTP server refused the connection"
	default:
		what = fmt.Sprintf("the SMTP server answered an error (%s)", stepWords(step))
	}
	if reply.Code >= 500 {
		return notify.Permanent(fmt.Errorf("%s: %w", what, r))
	}
	return fmt.Errorf("%s for now: %w", what, r)
}

// serverReply shows an SMTP reply as the server wrote it ("550 5.1.1 no
// such user"), on one line and without control characters, where
// textproto.Error quotes it.
type serverReply struct{ err *textproto.Error }

func (r serverReply) Error() string {
	msg := strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, r.err.Msg)
	return fmt.Sprintf("%d %s", r.err.Code, msg)
}

func (r serverReply) Unwrap() error { return r.err }

func stepWords(step string) string {
	switch step {
	case stepConnect:
		return "while connecting"
	case stepTLS:
		return "during the TLS handshake"
	case stepGreeting:
		return "before greeting"
	case stepHello:
		return "after EHLO"
	case stepStartTLS:
		return "during STARTTLS"
	case stepAuth:
		return "during login"
	case stepMail:
		return "after MAIL FROM"
	case stepRcpt:
		return "after RCPT TO"
	case stepData:
		return "while sending the message"
	}
	return step
}
