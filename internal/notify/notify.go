// Package notify holds the channel interface every way of reaching a person
// implements (push, SMS, voice, email, chat, webhook), the registry the
// engine finds them in, and the log channel.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Message is one notification to deliver.
type Message struct {
	NotificationID string
	AlertID        string
	TeamID         string
	UserID         string
	Channel        string
	Address        string
	Kind           string // alert, repeat, escalation, ack_timeout
	Round          int
	Title          string
	Text           string
	Severity       string
}

// Channel delivers messages on one channel. Send returns the provider's id
// for the message, if it has one. An error wrapped with Permanent is not
// retried.
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) (providerID string, err error)
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying (a wrong address, a refused
// credential): the engine moves on to the member's next rule.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) }

// Registry finds channels by name.
type Registry struct {
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
	c, ok := r.channels[name]
	if !ok {
		return nil, Permanent(fmt.Errorf("channel %q is not configured on this server", name))
	}
	return c, nil
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
