// Package notify holds the contracts every way of reaching a person
// implements (push, ntfy, SMS, voice, email, chat, webhook): the message a
// channel is given, the errors that steer retries, the optional abilities a
// channel may have (checking its credentials, updating a message already
// sent), and what a channel calls back into when a recipient answers.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Message kinds besides the engine's alert, repeat, escalation and
// ack_timeout.
const (
	KindBundle = "bundle" // several alerts for one address in one message
	KindTest   = "test"   // an administrator's test notification
	KindVerify = "verify" // a contact method verification code
	KindInvite = "invite" // an invitation to choose a password (email)
)

// Message is one notification to deliver.
type Message struct {
	NotificationID string
	AlertID        string
	TeamID         string
	TeamName       string
	UserID         string
	Channel        string
	Address        string
	Kind           string // alert, repeat, escalation, ack_timeout, bundle, test, verify
	Round          int
	Title          string
	Text           string
	Severity       string
	// AlertURL opens the alert in the web app.
	AlertURL string
	// Actions the recipient can take from the message itself.
	Actions []Action
	// ReplyCode names this alert in text replies from this address (SMS):
	// "<code>a" acknowledges, "<code>c" closes, "<code>e" escalates.
	ReplyCode string
	// Bundle lists the alerts a KindBundle message stands for.
	Bundle []AlertRef
	// Code is the verification code of a KindVerify message.
	Code string
}

// Action is something a recipient can do from the notification itself.
// URL is signed, expires and works once: POST performs the action, GET shows
// a page asking to confirm (mail scanners follow links). Token is the same
// credential for channels that carry it in a button's value.
type Action struct {
	Name  string // acknowledge, close, escalate
	Label string // Acknowledge, Close, Escalate
	URL   string
	Token string
}

// AlertRef names one alert of a bundle.
type AlertRef struct {
	ID       string
	Title    string
	Severity string
}

// Channel delivers messages on one channel. Send returns the provider's id
// for the message, if it has one. An error wrapped with Permanent is not
// retried; one wrapped with Gone also removes the address.
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// Checker is a channel that can check its credentials with its provider
// without bothering anyone: run when an administrator saves them.
type Checker interface {
	Check(ctx context.Context) error
}

// Update is a change of an alert's status to show on a message already sent.
type Update struct {
	AlertID  string
	Title    string
	Text     string
	Severity string
	Status   string // new, acknowledged, closed
	By       string // who changed it, for people to read
	At       time.Time
	Address  string
	AlertURL string
}

// Updater is a channel that can change a message it sent (a chat card)
// when its alert's status changes.
type Updater interface {
	Update(ctx context.Context, providerID string, u Update) error
}

// Result is what became of a recipient's answer, in plain words for the
// reply (an SMS, a voice prompt, a chat message).
type Result struct {
	AlertID string
	Title   string
	Action  string
	Message string
}

// Inbound is what channels call when a recipient answers or a provider
// reports. Channels check the provider's signature before calling it.
type Inbound interface {
	// Redeem performs a signed action token (email link, ntfy or push
	// action, chat button). note says how it arrived ("via Slack by @ana").
	Redeem(ctx context.Context, token, note string) (Result, error)
	// Respond performs action (acknowledge, close, escalate) for the
	// recipient of a notification: a keypress during a call.
	Respond(ctx context.Context, notificationID, action, note string) (Result, error)
	// TextReply handles a text message from an address (an SMS reply,
	// STOP/START) and returns the answer to send back ("" for none).
	TextReply(ctx context.Context, channel, from, body string) (string, error)
	// Delivery records a provider's delivery report (queued, sent,
	// delivered, undelivered, failed, answered, …) for a message it sent.
	Delivery(ctx context.Context, channel, providerID, status, detail string) error
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying (a wrong address, a refused
// credential): the engine moves on to the member's next rule.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent (or Gone).
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) || IsGone(err) }

type goneError struct{ err error }

func (g goneError) Error() string { return g.err.Error() }
func (g goneError) Unwrap() error { return g.err }

// Gone marks err as saying the address no longer exists (an expired push
// subscription): the contact method is removed.
func Gone(err error) error { return goneError{err} }

// IsGone reports whether err was marked Gone.
func IsGone(err error) bool { return errors.As(err, new(goneError)) }

// Registry finds channels by name. Channels are replaced when an
// administrator changes their settings, so it is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	channels map[string]Channel
}

// NewRegistry returns a registry of the given channels.
func NewRegistry(chs ...Channel) *Registry {
	r := &Registry{channels: map[string]Channel{}}
	for _, c := range chs {
		r.channels[c.Name()] = c
	}
	return r
}

// Get returns the channel named name.
func (r *Registry) Get(name string) (Channel, error) {
	r.mu.RLock()
	c, ok := r.channels[name]
	r.mu.RUnlock()
	if !ok {
		return nil, Permanent(fmt.Errorf("channel %q is not configured on this server", name))
	}
	return c, nil
}

// Set adds or replaces channels.
func (r *Registry) Set(chs ...Channel) {
	r.mu.Lock()
	for _, c := range chs {
		r.channels[c.Name()] = c
	}
	r.mu.Unlock()
}

// Log is a channel that writes messages to the log: for trying lastmile out
// and for channels not configured yet. It stands in for one channel name.
type Log struct {
	name string
	log  *slog.Logger
}

// NewLog returns a log channel standing in for the channel name.
func NewLog(name string, log *slog.Logger) *Log { return &Log{name: name, log: log} }

// Name is the channel this stands in for.
func (l *Log) Name() string { return l.name }

// Send logs the message.
func (l *Log) Send(ctx context.Context, m Message) (string, error) {
	l.log.Info("notification", "channel", l.name, "notification_id", m.NotificationID, "alert_id", m.AlertID, "user_id", m.UserID,
		"kind", m.Kind, "round", m.Round, "title", m.Title)
	return "", nil
}

// Recorder is a channel that keeps what it was given, for tests; it can be
// told to fail.
type Recorder struct {
	name string
	mu   sync.Mutex
	sent []Message
	fail error
}

// NewRecorder returns a recording channel for the channel name.
func NewRecorder(name string) *Recorder { return &Recorder{name: name} }

// Name is the channel this records.
func (r *Recorder) Name() string { return r.name }

// Send records m, or fails if told to.
func (r *Recorder) Send(ctx context.Context, m Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return "", r.fail
	}
	r.sent = append(r.sent, m)
	return fmt.Sprintf("%s-%d", r.name, len(r.sent)), nil
}

// Sent returns what was sent so far.
func (r *Recorder) Sent() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.sent...)
}

// FailWith makes every following Send fail with err (nil to stop failing).
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}
