package strictjson_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kafkasim/kafkasim/internal/strictjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

type dur struct{ ns int64 }

func (d *dur) UnmarshalJSON([]byte) error { return nil }

type inner struct {
	Name    string            `json:"name"`
	Count   *int              `json:"count,omitempty"`
	Configs map[string]string `json:"configs"`
	Skip    string            `json:"-"`
}

type base struct {
	Seed uint64 `json:"seed"`
}

type outer struct {
	base
	Title  string  `json:"title"`
	Items  []inner `json:"items"`
	Wait   dur     `json:"wait"`
	Nested struct {
		Deep []map[string]inner `json:"deep"`
	} `json:"nested"`
	Free any `json:"free"`
}

func TestCheckNamesTheUnknownFieldItsPathAndTheAcceptedNames(t *testing.T) {
	in := "{\n  \"title\": \"x\",\n  \"items\": [{\"name\": \"a\"}, {\"nmae\": \"b\"}]\n}"
	err := strictjson.Check([]byte(in), &outer{})
	require.Error(t, err)
	assert.Equal(t, `line 3, column 29: items[1]: unknown field "nmae"; accepted here: name, count, configs`, err.Error())

	err = strictjson.Check([]byte(`{"titel": 1}`), &outer{})
	require.Error(t, err)
	assert.Equal(t, `line 1, column 2: unknown field "titel"; accepted here: seed, title, items, wait, nested, free`, err.Error())
}

func TestCheckRefusesDuplicateKeysAtAnyDepth(t *testing.T) {
	cases := map[string]string{
		"{\"title\": \"a\",\n \"title\": \"b\"}":                    `line 2, column 2: the key "title" appears twice in one object (first on line 1); give each key once`,
		`{"items": [{"configs": {"a": "1", "a": "2"}}]}`:            `items[0].configs: the key "a" appears twice`,
		`{"nested": {"deep": [{"k": {"name": "x", "name": "y"}}]}}`: `nested.deep[0].k: the key "name" appears twice`,
		`{"free": {"x": {"y": 1, "y": 2}}}`:                         `free.x: the key "y" appears twice`,
		`{"wait": {"ms": 1, "ms": 2}}`:                              `wait: the key "ms" appears twice`,
		`{"seed": 1, "Seed": 2}`:                                    ``, // distinct keys; encoding/json would take the last
	}
	for in, want := range cases {
		err := strictjson.Check([]byte(in), &outer{})
		if want == "" {
			assert.NoError(t, err, in)
			continue
		}
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestCheckAcceptsWhatEncodingJSONAcceptsStrictly(t *testing.T) {
	ok := []string{
		`{"title": "x", "items": [{"name": "a", "count": 3, "configs": {"k": "v"}}], "seed": 7}`,
		`{"TITLE": "case-insensitive, as encoding/json"}`,
		`{"wait": {"anything": "its own decoder judges"}, "free": {"a": [1, {"b": 2}]}}`,
		`{}`,
		`{"items": null, "nested": {"deep": [{"k": {}}]}}`,
	}
	for _, in := range ok {
		assert.NoError(t, strictjson.Check([]byte(in), &outer{}), in)
	}
	// Malformed JSON is the decoder's to report.
	assert.NoError(t, strictjson.Check([]byte(`{"title": `), &outer{}))
}

// Check agrees with encoding/json's DisallowUnknownFields on every object without duplicate keys: it refuses
// exactly the inputs with a field the type lacks.
func TestCheckAgreesWithTheDecoderOnUnknownFields(t *testing.T) {
	keys := []string{"title", "items", "seed", "free", "bogus", "name", "count", "configs", "nmae"}
	rapid.Check(t, func(t *rapid.T) {
		top := map[string]any{}
		for _, k := range rapid.SliceOfNDistinct(rapid.SampledFrom(keys), 0, 4, rapid.ID[string]).Draw(t, "top") {
			switch k {
			case "items":
				item := map[string]any{}
				for _, ik := range rapid.SliceOfNDistinct(rapid.SampledFrom(keys), 0, 3, rapid.ID[string]).Draw(t, "item") {
					switch ik {
					case "count":
						item[ik] = 1
					case "configs":
						item[ik] = map[string]string{"a": "b"}
					default:
						item[ik] = "s"
					}
				}
				top[k] = []any{item}
			case "seed":
				top[k] = 3
			case "title", "bogus", "name", "count", "configs", "nmae":
				top[k] = "s"
			default:
				top[k] = nil
			}
		}
		data, err := json.Marshal(top)
		require.NoError(t, err)
		checkErr := strictjson.Check(data, &outer{})
		decErr := strictjson.Decode(data, &outer{})
		unknownByDecoder := decErr != nil && strings.Contains(decErr.Error(), "unknown field")
		if (checkErr != nil) != unknownByDecoder {
			t.Fatalf("%s: Check says %v, the decoder %v", data, checkErr, decErr)
		}
	})
}
