package twilio

import (
	"encoding/xml"
	"net/http"
)

// TwiML verbs lastmile answers with. encoding/xml escapes every text and
// attribute, so an alert title cannot inject markup.
type (
	twiml struct {
		XMLName xml.Name `xml:"Response"`
		Verbs   []any
	}
	say struct {
		XMLName  xml.Name `xml:"Say"`
		Language string   `xml:"language,attr,omitempty"`
		Voice    string   `xml:"voice,attr,omitempty"`
		Text     string   `xml:",chardata"`
	}
	gather struct {
		XMLName   xml.Name `xml:"Gather"`
		Input     string   `xml:"input,attr"`
		NumDigits int      `xml:"numDigits,attr"`
		Timeout   int      `xml:"timeout,attr"`
		Action    string   `xml:"action,attr"`
		Method    string   `xml:"method,attr"`
		Say       say
	}
	hangup struct {
		XMLName xml.Name `xml:"Hangup"`
	}
	smsMessage struct {
		XMLName xml.Name `xml:"Message"`
		Text    string   `xml:",chardata"`
	}
)

// say returns a Say verb in the configured language and voice.
func (c *client) say(text string) say {
	return say{Language: c.s.VoiceLanguage, Voice: c.s.VoiceName, Text: text}
}

func writeTwiML(w http.ResponseWriter, verbs ...any) {
	b, err := xml.Marshal(twiml{Verbs: verbs})
	if err != nil {
		http.Error(w, "could not render TwiML", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(b)
}
