package seal

import "encoding/json"

// Masked stands for a secret in settings shown to administrators. Saving
// it back keeps the stored secret.
const Masked = "********"

// MaskJSON replaces the values of the secret top-level fields of a JSON
// object with Masked, for showing settings to administrators.
func MaskJSON(raw json.RawMessage, secrets []string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return json.RawMessage("{}")
	}
	for _, k := range secrets {
		if v, ok := m[k]; ok && string(v) != `""` && string(v) != "null" {
			m[k] = json.RawMessage(`"` + Masked + `"`)
		}
	}
	out, _ := json.Marshal(m)
	return out
}

// KeepSecrets fills the secret fields that are missing or Masked in raw
// from the stored settings, so an administrator can save settings back
// without typing the secrets again.
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
	for _, k := range secrets {
		v, ok := m[k]
		if (!ok || string(v) == `"`+Masked+`"`) && old[k] != nil {
			m[k] = old[k]
		} else if string(v) == `"`+Masked+`"` {
			delete(m, k)
		}
	}
	return json.Marshal(m)
}
