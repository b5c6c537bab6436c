package model

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kafkasim/kafkasim/internal/strictjson"
)

// Acks is a producer's acks setting.
type Acks int8

// The acks settings, with Kafka's values.
const (
	AcksAll    Acks = -1 // acks=all (also -1): every ISR member has the record
	AcksNone   Acks = 0  // acks=0: no acknowledgement, no offset
	AcksLeader Acks = 1  // acks=1: the leader has appended the record
)

func (a Acks) String() string {
	switch a {
	case AcksAll:
		return "all"
	case AcksNone:
		return "0"
	case AcksLeader:
		return "1"
	}
	return "acks(" + strconv.Itoa(int(a)) + ")"
}

// ParseAcks reads an acks setting as Kafka's producer config accepts it.
func ParseAcks(s string) (Acks, error) {
	switch s {
	case "all", "-1":
		return AcksAll, nil
	case "0":
		return AcksNone, nil
	case "1":
		return AcksLeader, nil
	}
	return 0, fmt.Errorf("invalid acks %q; accepted: all, -1, 0, 1", s)
}

// A RecordHeader is one of a record's headers (Kafka's Header): a key,
// never null, and a value that may be null (nil).
type RecordHeader struct {
	Key   string
	Value Bytes
}

func (h RecordHeader) String() string { return h.Key + ":" + h.Value.String() }

// Bytes is a record key or value. Nil (Kafka's null) and empty differ.
// In JSON it is null, a string when the bytes are valid UTF-8, and
// {"base64": "..."} otherwise, so that every value survives a round trip.
type Bytes []byte

// Equal reports whether b and c hold the same bytes, treating nil as
// different from empty.
func (b Bytes) Equal(c Bytes) bool {
	if (b == nil) != (c == nil) {
		return false
	}
	return bytes.Equal(b, c)
}

// String renders the bytes for people: the text itself when it is
// printable UTF-8, quoted otherwise, and "null" for nil.
func (b Bytes) String() string {
	if b == nil {
		return "null"
	}
	s := string(b)
	if s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '\\' || r == 0x7f || r == utf8.RuneError || !strconv.IsPrint(r)
	}) {
		return s
	}
	return strconv.Quote(s)
}

// MarshalJSON encodes bytes as null, a string, or {"base64": "..."}.
func (b Bytes) MarshalJSON() ([]byte, error) {
	if b == nil {
		return []byte("null"), nil
	}
	if utf8.Valid(b) {
		return json.Marshal(string(b))
	}
	return json.Marshal(struct {
		Base64 string `json:"base64"`
	}{base64.StdEncoding.EncodeToString(b)})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*b = nil
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = Bytes(s)
		if *b == nil {
			*b = Bytes{}
		}
		return nil
	case len(data) > 0 && data[0] == '{':
		var o struct {
			Base64 *string `json:"base64"`
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(&o); err != nil {
			return fmt.Errorf("bytes: %v (expected null, a string or {\"base64\": \"...\"})", err)
		}
		if o.Base64 == nil {
			return errors.New(`bytes: object without "base64" (expected null, a string or {"base64": "..."})`)
		}
		raw, err := base64.StdEncoding.DecodeString(*o.Base64)
		if err != nil {
			return fmt.Errorf("bytes: invalid base64: %v", err)
		}
		if raw == nil {
			raw = []byte{}
		}
		*b = raw
		return nil
	}
	return fmt.Errorf("bytes: got %s, expected null, a string or {\"base64\": \"...\"}", strictjson.Clip(string(data)))
}

// MarshalJSON encodes a partition as {"topic": "t", "partition": 0}.
func (tp TopicPartition) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonTP{tp.Topic, tp.Partition})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (tp *TopicPartition) UnmarshalJSON(data []byte) error {
	var j struct {
		Topic     *string `json:"topic"`
		Partition *int32  `json:"partition"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("partition: %v (expected {\"topic\": ..., \"partition\": ...})", err)
	}
	if j.Topic == nil || j.Partition == nil {
		return errors.New(`partition: expected both "topic" and "partition"`)
	}
	*tp = TopicPartition{*j.Topic, *j.Partition}
	return nil
}

type jsonTP struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// MarshalJSON encodes acks as Kafka's producer config writes it: "all",
// "1" or "0".
func (a Acks) MarshalJSON() ([]byte, error) {
	switch a {
	case AcksAll, AcksLeader, AcksNone:
		return json.Marshal(a.String())
	}
	return nil, fmt.Errorf("invalid acks %d", int8(a))
}

// UnmarshalJSON decodes "all", "-1", "1" or "0".
func (a *Acks) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf(`acks: expected a string ("all", "1" or "0"), got %s`, strictjson.Clip(string(data)))
	}
	v, err := ParseAcks(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
