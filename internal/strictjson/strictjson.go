// Package strictjson decodes the JSON of kafkasim's files strictly: one value, no unknown fields. The history
// format (model/history) and the typed run configuration it carries (model) read through it, so that both refuse
// the same malformed input with the same words.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Decode reads exactly one JSON value from data into v, refusing fields v does not have.
func Decode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if ce := Check(data, v); ce != nil {
			// The same refusal, said with the column, the field's path and the accepted names.
			return fmt.Errorf("malformed: %v", ce)
		}
		return fmt.Errorf("malformed: %v", err)
	}
	if d.More() {
		return errors.New("malformed: more than one JSON value on the line")
	}
	return nil
}

// Clip shortens a piece of input quoted in an error message to at most 60 bytes, and names empty input.
func Clip(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "nothing"
	}
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
