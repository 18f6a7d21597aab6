package twilio

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A message of two segments at most: 2×153 GSM-7 septets, or 2×67 UTF-16
// units once one character outside GSM-7 forces UCS-2. A third segment
// costs as much again and arrives no sooner.
const (
	gsmLimit  = 306
	ucs2Limit = 134
)

// The GSM 03.38 default alphabet (without the escape) and its extension
// table, whose characters take two septets.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "^{}\\[~]|€"
)

// gsmReplacer swaps typographic characters, which would force the whole
// message into UCS-2 (and halve its room), for their GSM-7 look-alikes.
var gsmReplacer = strings.NewReplacer(
	"‘", "'", "’", "'", "‚", "'", "‛", "'", "′", "'", "´", "'", "`", "'",
	"“", `"`, "”", `"`, "„", `"`, "‟", `"`, "″", `"`, "«", `"`, "»", `"`,
	"‐", "-", "‑", "-", "‒", "-", "–", "-", "—", "-", "―", "-", "−", "-",
	"…", "...", "•", "*", "·", "-", "™", "TM", "©", "(c)", "®", "(R)",
	"≥", ">=", "≤", "<=", "≠", "!=", "×", "x", "÷", "/", "→", "->", "←", "<-",
	"á", "a", "â", "a", "ã", "a", "ā", "a", "ą", "a", "Á", "A", "Â", "A", "Ã", "A", "À", "A", "Ą", "A",
	"ç", "c", "ć", "c", "č", "c", "Ć", "C", "Č", "C",
	"ê", "e", "ë", "e", "ē", "e", "ę", "e", "ě", "e", "È", "E", "Ê", "E", "Ë", "E", "Ę", "E", "Ě", "E",
	"í", "i", "î", "i", "ï", "i", "ı", "i", "Í", "I", "Ì", "I", "Î", "I", "Ï", "I", "İ", "I",
	"ó", "o", "ô", "o", "õ", "o", "ő", "o", "Ó", "O", "Ò", "O", "Ô", "O", "Õ", "O", "Ő", "O",
	"ú", "u", "û", "u", "ů", "u", "ű", "u", "Ú", "U", "Ù", "U", "Û", "U", "Ů", "U", "Ű", "U",
	"ý", "y", "ÿ", "y", "Ý", "Y", "ł", "l", "Ł", "L", "ń", "n", "ň", "n", "Ń", "N", "Ň", "N",
	"ś", "s", "š", "s", "ş", "s", "Ś", "S", "Š", "S", "Ş", "S", "ź", "z", "ż", "z", "ž", "z",
	"Ź", "Z", "Ż", "Z", "Ž", "Z", "ř", "r", "Ř", "R", "ğ", "g", "Ğ", "G", "ď", "d", "ť", "t",
)

// gsmNormalize replaces typographic characters with GSM-7 ones, folds every
// run of white space (line breaks included) into one space and drops
// invisible characters. A leading or trailing space stays: it separates
// pieces of a message.
func gsmNormalize(s string) string {
	s = gsmReplacer.Replace(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			continue
		}
		if space {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// isGSM reports whether s can be sent in GSM-7.
func isGSM(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsmBasic, r) && !strings.ContainsRune(gsmExtension, r) {
			return false
		}
	}
	return true
}

// cost is the room s takes in a segment: septets in GSM-7, UTF-16 units in
// UCS-2.
func cost(s string, ucs2 bool) int {
	n := 0
	for _, r := range s {
		switch {
		case ucs2 && r > 0xFFFF:
			n += 2
		case ucs2:
			n++
		case strings.ContainsRune(gsmExtension, r):
			n += 2
		default:
			n++
		}
	}
	return n
}

// cutTo returns the longest prefix of s that costs at most max, ending at
// a word's end when one is near, without a trailing space.
func cutTo(s string, max int, ucs2 bool) string {
	n := 0
	for i, r := range s {
		c := cost(string(r), ucs2)
		if n+c > max {
			cut := s[:i]
			if r != ' ' {
				if sp := strings.LastIndexByte(cut, ' '); sp > 0 && len([]rune(cut[sp:])) <= 15 {
					cut = cut[:sp]
				}
			}
			return strings.TrimRight(cut, " ")
		}
		n += c
	}
	return s
}

// piece is part of an SMS. Fixed pieces (the reply instructions) are never
// cut; the others are cut, the last one first, until the message fits.
type piece struct {
	text  string
	fixed bool
}

// minPiece is the least worth keeping of a piece that is cut: below it, a
// later piece is dropped instead, so that an earlier one keeps its room.
const minPiece = 12

// fitSMS joins the pieces into a message of at most two segments,
// normalised to GSM-7 where possible. One character outside GSM-7 anywhere
// makes the whole message UCS-2.
func fitSMS(pieces ...piece) string {
	ps := make([]piece, len(pieces))
	var all strings.Builder
	for i, p := range pieces {
		ps[i] = piece{text: gsmNormalize(p.text), fixed: p.fixed}
		all.WriteString(ps[i].text)
	}
	ucs2 := !isGSM(all.String())
	limit, ellipsis := gsmLimit, "..."
	if ucs2 {
		limit, ellipsis = ucs2Limit, "…"
	}
	total := cost(all.String(), ucs2)
	for i := len(ps) - 1; i >= 0 && total > limit; i-- {
		if ps[i].fixed || ps[i].text == "" {
			continue
		}
		c := cost(ps[i].text, ucs2)
		keep := c - (total - limit) - cost(ellipsis, ucs2)
		if keep < minPiece && hasCuttable(ps[:i]) {
			ps[i].text = ""
			total -= c
			continue
		}
		ps[i].text = cutTo(ps[i].text, max(keep, 0), ucs2) + ellipsis
		total += cost(ps[i].text, ucs2) - c
	}
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.text)
	}
	// Pieces each bring their own separating space; an empty piece between
	// two would leave two.
	out := strings.TrimSpace(strings.Join(strings.Fields(b.String()), " "))
	if cost(out, ucs2) > limit {
		// Only fixed pieces are left and they are too long: a team name or
		// reply code far beyond what they should be.
		out = cutTo(out, limit, ucs2)
	}
	return out
}

func hasCuttable(ps []piece) bool {
	for _, p := range ps {
		if !p.fixed && p.text != "" {
			return true
		}
	}
	return false
}
