package seal

import (
	"encoding/json"
	"strings"
)

// Masked stands for a secret in settings shown to administrators. Saving
// it back keeps the stored secret.
const Masked = "********"

const maskedJSON = `"` + Masked + `"`

// A secret is named by its path in the settings object: "clientSecret", or
// "log.sharedKey" for a field of a nested object.

// MaskJSON replaces the values of the secret fields of a JSON object with
// Masked, for showing settings to administrators.
func MaskJSON(raw json.RawMessage, secrets []string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return json.RawMessage("{}")
	}
	for _, p := range secrets {
		mask(m, strings.Split(p, "."))
	}
	out, _ := json.Marshal(m)
	return out
}

func mask(m map[string]json.RawMessage, path []string) {
	v, ok := m[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		if string(v) != `""` && string(v) != "null" {
			m[path[0]] = json.RawMessage(maskedJSON)
		}
		return
	}
	var sub map[string]json.RawMessage
	if json.Unmarshal(v, &sub) != nil || sub == nil {
		return
	}
	mask(sub, path[1:])
	m[path[0]], _ = json.Marshal(sub)
}

// KeepSecrets fills the secret fields that are missing or Masked in raw
// from the stored settings, so an administrator can save settings back
// without typing the secrets again. A nested secret is kept when its
// object is still there; removing the object removes it.
func KeepSecrets(raw, stored json.RawMessage, secrets []string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	var old map[string]json.RawMessage
	_ = json.Unmarshal(stored, &old)
	for _, p := range secrets {
		keep(m, old, strings.Split(p, "."))
	}
	return json.Marshal(m)
}

func keep(m, old map[string]json.RawMessage, path []string) {
	k := path[0]
	v, ok := m[k]
	if len(path) == 1 {
		switch {
		case (!ok || string(v) == maskedJSON) && old[k] != nil:
			m[k] = old[k]
		case string(v) == maskedJSON:
			delete(m, k)
		}
		return
	}
	var sub, oldSub map[string]json.RawMessage
	if !ok || json.Unmarshal(v, &sub) != nil || sub == nil {
		return
	}
	_ = json.Unmarshal(old[k], &oldSub)
	keep(sub, oldSub, path[1:])
	m[k], _ = json.Marshal(sub)
}

// HasMasked reports whether a secret field holds Masked: settings copied
// from what was shown, with no stored secret to stand for.
func HasMasked(raw json.RawMessage, secrets []string) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", false
	}
	for _, p := range secrets {
		cur := m
		parts := strings.Split(p, ".")
		for i, k := range parts {
			v, ok := cur[k]
			if !ok {
				break
			}
			if i == len(parts)-1 {
				if string(v) == maskedJSON {
					return p, true
				}
				break
			}
			if json.Unmarshal(v, &cur) != nil {
				break
			}
		}
	}
	return "", false
}
