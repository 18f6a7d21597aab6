package azureemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lastmile/lastmile/internal/clock"
)

// Options configure an Emulator. The zero value is usable.
type Options struct {
	// Clock is the emulator's notion of now: token expiry, incident
	// timestamps, x-ms-date skew. Nil means the wall clock.
	Clock clock.Clock
	// Log receives one debug line per request. Nil discards.
	Log *slog.Logger
	// Addr is where Start listens; empty means 127.0.0.1:0.
	Addr string
	// Hosts are extra DNS names put in the TLS certificate besides
	// localhost, 127.0.0.1 and ::1.
	Hosts []string
	// TokenLifetime is how long issued access tokens live; 0 means 3599s,
	// what Entra usually answers.
	TokenLifetime time.Duration
}

// Emulator serves the emulated Azure APIs. All methods are safe for
// concurrent use.
type Emulator struct {
	clock    clock.Clock
	log      *slog.Logger
	addr     string
	hosts    []string
	lifetime time.Duration
	signKey  *rsa.PrivateKey
	keyID    string

	mu    sync.Mutex
	st    state
	srv   *http.Server
	ln    net.Listener
	cert  []byte // PEM
	pool  *x509.CertPool
	url   string
	close sync.Once
}

// New returns an emulator with no tenants, apps or data. Call Start to
// serve it, or mount Handler yourself.
func New(opts Options) *Emulator {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 3599 * time.Second
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		// Only possible for an invalid size; 2048 is valid.
		panic(fmt.Sprintf("azureemu: generate signing key: %v", err))
	}
	return &Emulator{
		clock:    opts.Clock,
		log:      opts.Log,
		addr:     opts.Addr,
		hosts:    opts.Hosts,
		lifetime: opts.TokenLifetime,
		signKey:  key,
		keyID:    uuid.NewString(),
		st:       newState(),
	}
}

// Start serves the emulator over TLS with a certificate generated for this
// instance. Use Client (or CACertPEM) to trust it.
func (e *Emulator) Start() error {
	certPEM, tlsCert, err := selfSignedCert(e.hosts)
	if err != nil {
		return fmt.Errorf("azureemu: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fmt.Errorf("azureemu: listen %s: %w", e.addr, err)
	}
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	e.mu.Lock()
	e.srv, e.ln, e.cert, e.pool = srv, ln, certPEM, pool
	e.url = "https://" + ln.Addr().String()
	e.mu.Unlock()
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("azure emulator stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the server started by Start, dropping open connections. It
// is safe to call more than once.
func (e *Emulator) Close() {
	e.close.Do(func() {
		e.mu.Lock()
		srv := e.srv
		e.mu.Unlock()
		if srv != nil {
			// Not Shutdown: HTTP/2 connections would hold it for a second
			// per emulator, and tests start many.
			_ = srv.Close()
		}
	})
}

// URL is the base address every emulated API is served under, e.g.
// https://127.0.0.1:41234 (no trailing slash). Empty before Start.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.url
}

// CACertPEM is the emulator's self-signed certificate; trust it to talk to
// the emulator. Nil before Start.
func (e *Emulator) CACertPEM() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]byte(nil), e.cert...)
}

// Client returns a fresh HTTP client that trusts the emulator's
// certificate. It implements azcore's policy.Transporter.
func (e *Emulator) Client() *http.Client {
	e.mu.Lock()
	pool := e.pool
	e.mu.Unlock()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

func (e *Emulator) now() time.Time { return e.clock.Now().UTC() }
