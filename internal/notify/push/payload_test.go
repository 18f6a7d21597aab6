package push

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/notify"
)

func TestCut(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel…"},
		{"hello", 0, ""},
		{"héllo", 2, "h…"}, // é is two bytes: never split it
		{"héllo", 3, "hé…"},
		{"日本語", 4, "日…"},
		{"日本語", 2, ""},
	}
	for _, tt := range tests {
		if got := cut(tt.s, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestMarshalShortensTitleWhenBodyIsNotEnough(t *testing.T) {
	p := render(notify.Message{Kind: "alert", AlertID: "a", NotificationID: "n", Title: strings.Repeat("ü", 3000), Text: strings.Repeat("x", 3000)})
	b, err := marshal(p, maxPlaintext)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxPlaintext || len(b) < maxPlaintext-4 || !utf8.Valid(b) {
		t.Errorf("%d bytes, valid UTF-8 %v", len(b), utf8.Valid(b))
	}
	if !strings.Contains(string(b), `"body":""`) || !strings.Contains(string(b), `ü…"`) {
		t.Errorf("want the body dropped and the title cut: %.120s…", b)
	}
}

func TestMarshalRefusesWhatCannotFit(t *testing.T) {
	p := render(notify.Message{Kind: "alert", AlertID: "a", Title: "t",
		Actions: []notify.Action{{Name: "acknowledge", URL: "https://x/" + strings.Repeat("a", 5000)}}})
	if _, err := marshal(p, maxPlaintext); err == nil {
		t.Fatal("no error")
	}
}

func TestTopic(t *testing.T) {
	a := notify.Message{Kind: "alert", AlertID: "018f3c2e-7b7a-7c1e-9d3f-2b4a5c6d7e8f"}
	r := a
	r.Kind = "repeat"
	b := a
	b.AlertID = "018f3c2e-7b7a-7c1e-9d3f-2b4a5c6d7e90"
	ta := topic(a)
	if len(ta) != 32 || strings.Trim(ta, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("topic %q is not 32 base64url characters", ta)
	}
	if topic(r) != ta {
		t.Error("a repeat has another topic: it would not replace the undelivered first message")
	}
	if topic(b) == ta {
		t.Error("two alerts share a topic")
	}
	if got := topic(notify.Message{Kind: notify.KindVerify, AlertID: "a"}); got != "" {
		t.Errorf("verification message has topic %q", got)
	}
}

func TestUrgency(t *testing.T) {
	c := &Channel{urgency: "low"}
	for _, tt := range []struct {
		m    notify.Message
		want string
	}{
		{notify.Message{Kind: "alert", Severity: "critical"}, "high"},
		{notify.Message{Kind: "alert", Severity: "high"}, "high"},
		{notify.Message{Kind: "alert", Severity: "medium"}, "low"},
		{notify.Message{Kind: "alert", Severity: "bogus"}, "low"},
		{notify.Message{Kind: "alert"}, "low"},
		{notify.Message{Kind: notify.KindVerify}, "high"},
		{notify.Message{Kind: notify.KindBundle, Bundle: []notify.AlertRef{{Severity: "info"}, {Severity: "critical"}}}, "high"},
		{notify.Message{Kind: notify.KindBundle, Bundle: []notify.AlertRef{{Severity: "info"}, {}}}, "low"},
	} {
		if got := c.urgencyFor(tt.m); got != tt.want {
			t.Errorf("%+v: urgency %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestBundleSeverity(t *testing.T) {
	for _, tt := range []struct {
		refs []notify.AlertRef
		want string
	}{
		{[]notify.AlertRef{{Severity: "info"}, {Severity: ""}}, "medium"},
		{[]notify.AlertRef{{Severity: ""}, {Severity: "info"}}, "medium"},
		{[]notify.AlertRef{{Severity: "low"}, {Severity: "critical"}, {Severity: "high"}}, "critical"},
		{[]notify.AlertRef{{Severity: "info"}}, "info"},
		{nil, ""},
	} {
		if got := bundleSeverity(tt.refs); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.refs, got, tt.want)
		}
	}
}
