package twiliotest

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// TwiML is what a TwiML document asks of Twilio, as far as tests care.
type TwiML struct {
	// Says are the texts of <Say> verbs, in order, including those inside
	// the <Gather>.
	Says []string
	// SayAttrs are the attributes of each <Say>, in the same order.
	SayAttrs []map[string]string
	// Messages are the texts of <Message> verbs (SMS replies).
	Messages []string
	// Gather is the first <Gather>, if any.
	Gather *Gather
	Hangup bool
}

// Gather is a <Gather> verb.
type Gather struct {
	Action    string
	Method    string
	NumDigits string
	Timeout   string
	Input     string
	// Says are the texts of the <Say> verbs inside it.
	Says []string
}

// ParseTwiML reads a TwiML document. It fails on anything that is not
// well-formed XML with a <Response> root, as Twilio does (error 12100).
func ParseTwiML(doc string) (TwiML, error) {
	var t TwiML
	dec := xml.NewDecoder(strings.NewReader(doc))
	var stack []string
	var text strings.Builder
	root := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return t, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if el.Name.Local != "Response" {
					return t, errors.New("twiliotest: the TwiML root is <" + el.Name.Local + ">, not <Response>")
				}
				root = true
			}
			stack = append(stack, el.Name.Local)
			text.Reset()
			attrs := map[string]string{}
			for _, a := range el.Attr {
				attrs[a.Name.Local] = a.Value
			}
			switch el.Name.Local {
			case "Gather":
				if t.Gather == nil {
					t.Gather = &Gather{Action: attrs["action"], Method: attrs["method"], NumDigits: attrs["numDigits"], Timeout: attrs["timeout"], Input: attrs["input"]}
				}
			case "Say":
				t.SayAttrs = append(t.SayAttrs, attrs)
			case "Hangup":
				t.Hangup = true
			}
		case xml.CharData:
			text.Write(el)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			switch el.Name.Local {
			case "Say":
				t.Says = append(t.Says, text.String())
				if len(stack) > 0 && stack[len(stack)-1] == "Gather" && t.Gather != nil {
					t.Gather.Says = append(t.Gather.Says, text.String())
				}
			case "Message":
				t.Messages = append(t.Messages, text.String())
			}
			text.Reset()
		}
	}
	if !root {
		return t, errors.New("twiliotest: no <Response> in the TwiML")
	}
	return t, nil
}

// TwiMLText returns what a TwiML document says or texts back: its <Say>
// and <Message> texts joined by spaces ("" if it does not parse).
func TwiMLText(doc string) string {
	t, err := ParseTwiML(doc)
	if err != nil {
		return ""
	}
	return strings.Join(append(t.Says, t.Messages...), " ")
}
