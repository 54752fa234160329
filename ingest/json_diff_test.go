package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// DecodeJSON's scanner is checked against encoding/json: stdDecodeJSON
// reads the same shapes (envelope, bare array, NDJSON) with encoding/json
// doing all the lexing (strings, escapes, numbers, literals, white space,
// nesting) and applies the same rules to what it finds, with the same
// checker. Both must accept and refuse the same bodies and, when they
// accept, return the same samples. Messages and places are not compared:
// encoding/json has its own.
//
// One documented difference: encoding/json replaces invalid UTF-8 in
// strings by U+FFFD where DecodeJSON refuses it, so bodies that are not
// valid UTF-8 are left out of the comparison (FuzzJSON still runs them).

func FuzzJSONMatchesEncodingJSON(f *testing.F) {
	for _, s := range jsonTricky {
		for sel := range uint8(8) {
			f.Add([]byte(s), sel)
		}
	}
	for _, b := range readFuzzSeeds(f, "FuzzJSON") {
		f.Add(b, uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		matchEncodingJSON(t, body, diffOptions(sel))
	})
}

// TestJSONMatchesEncodingJSON runs the hand-picked inputs and FuzzJSON's
// corpus under every option set.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	inputs := append([][]byte(nil), readFuzzSeeds(t, "FuzzJSON")...)
	for _, s := range jsonTricky {
		inputs = append(inputs, []byte(s))
	}
	for _, body := range inputs {
		for sel := range uint8(8) {
			if !matchEncodingJSON(t, body, diffOptions(sel)) {
				return
			}
		}
	}
}

// jsonTricky are hand-picked inputs for the corners of JSON.
var jsonTricky = []string{
	`{"samples":[{"metric":"a","tags":{"k":"v"},"value":1,"time":"2026-03-01T12:00:00Z"}]}`,
	`[{"metric":"a","value":-1.5e3,"field":"f","time":1772366400000}]`,
	"{\"metric\":\"a\",\"value\":1}\n{\"metric\":\"b\",\"tags\":{\"x\":\"\\u00e9\"},\"value\":2}\n",
	`{"metric":"a","value":1}{"metric":"a","value":2}`, ` [ ] `, "\t{\"samples\" : [ ] }\r\n",
	`[]`, ``, `  `, `{}`, `[{}]`, `{"samples":[]}{}`, `{"samples":null}`, `{"samples":[],"samples":[]}`,
	`[{"metric":"a","value":01}]`, `[{"metric":"a","value":-01}]`, `[{"metric":"a","value":0}]`, `[{"metric":"a","value":-0}]`,
	`[{"metric":"a","value":0.0e+0}]`, `[{"metric":"a","value":1.}]`, `[{"metric":"a","value":.5}]`, `[{"metric":"a","value":1e}]`,
	`[{"metric":"a","value":+1}]`, `[{"metric":"a","value":1E400}]`, `[{"metric":"a","value":4.9e-324}]`, `[{"metric":"a","value":1e-400}]`,
	`[{"metric":"a","value":00}]`, `[{"metric":"a","value":1,"time":01}]`, `[{"metric":"a","value":1,"x":01}]`,
	`[{"metric":"a","tags":nul,"value":1}]`, `[{"metric":"a","tags":null,"value":1}]`, `[{"metric":"a","tags":nullx,"value":1}]`,
	`[{"metric":"a","tags":{},"value":1}]`, `[{"metric":"a","tags":[],"value":1}]`, `[{"metric":"a","tags":{"k":null},"value":1}]`,
	`[{"metric":null,"value":1}]`, `[{"metric":"a","value":null}]`, `[{"metric":"a","value":true}]`, `[{"metric":"a","value":"1"}]`,
	`[{"metric":"a","value":1,"time":null}]`, `[{"metric":"a","value":1,"field":null}]`, `[{"metric":"a","value":1,"x":tru}]`,
	`[{"metric":"a","value":1,"x":[1,2,{"y":[null,true,false,"s"]}]}]`, `[{"metric":"a","value":1,"x":{"y":1,}}]`,
	`[{"metric":"a","value":1,"time":"2026-03-01T12:00:00.123456789+01:00"}]`, `[{"metric":"a","value":1,"time":"2026-03-01"}]`,
	`[{"metric":"a","value":1,"time":1772366400.5}]`, `[{"metric":"a","value":1,"time":1.7723664e9}]`, `[{"metric":"a","value":1,"time":-1}]`,
	`[{"metric":"\u0061","tags":{"\u006b":"\ud83d\ude00\ud800\u0041\"\\\/\b\f\n\r\t"},"value":1}]`,
	`[{"metric":"a","tags":{"k":"\u00"},"value":1}]`, `[{"metric":"a","tags":{"k":"\x"},"value":1}]`,
	"[{\"metric\":\"a\",\"tags\":{\"k\":\"a\tb\"},\"value\":1}]", "[{\"metric\":\"a\",\"tags\":{\"k\":\"\x7f\"},\"value\":1}]",
	`[{"metric":"a","tags":{"b":"1","a":"2","c":"3"},"value":1}]`, `[{"metric":"a","tags":{"k":"1","k":"2"},"value":1}]`,
	`[{"metric":"a","metric":"b","value":1}]`, `[{"metric":"a","value":1,"field":"f","field":"g"}]`,
	`[{"metric":"a","value":1},]`, `[{"metric":"a","value":1}`, `[{"metric":"a","value":1}]]`, `[{"metric":"a","value":1} {"metric":"b","value":2}]`,
	`{"metric":"a","value":1} [1]`, `{"metric":"a","value":1} 1`, `{"samples":[{"metric":"a","value":1}]} {"metric":"a","value":1}`,
	"\xef\xbb\xbf[]", `[1]`, `["a"]`, `[[]]`, `null`, `true`, `1`, `"s"`, `{"samples":{}}`, `{"Samples":[]}`, `{"METRIC":"a","value":1}`,
	`[{"metric":"a","value":1,"tags":{"a":"1","b":"2","c":"3"}},{"metric":"a","value":2,"tags":{"a":"1"}},{"metric":"a","value":3},{"metric":"b","value":4}]`,
	`[{"metric":"abcdef","value":1}]`, `[{"metric":"a","tags":{"abcdef":"1"},"value":1}]`, `[{"metric":"a","tags":{"k":"abcde"},"value":1}]`,
}

// matchEncodingJSON decodes body with DecodeJSON and stdDecodeJSON and
// reports a difference.
func matchEncodingJSON(t *testing.T, body []byte, opt DecodeOptions) bool {
	t.Helper()
	if !utf8.Valid(body) {
		return true
	}
	got, gerr := DecodeJSON(body, opt)
	want, werr := stdDecodeJSON(body, opt)
	fail := func(format string, args ...any) bool {
		t.Helper()
		t.Errorf("body %q, limits %+v:\n"+format, append([]any{body, opt.Limits}, args...)...)
		return false
	}
	if (gerr == nil) != (werr == nil) {
		return fail("DecodeJSON: %d samples, %v\nencoding/json: %d samples, %v", len(got), gerr, len(want), werr)
	}
	if gerr != nil {
		var de *DecodeError
		if !errors.As(gerr, &de) || len(de.Problems) == 0 {
			return fail("error %v (%T) is not a *DecodeError with problems", gerr, gerr)
		}
		// A message that names what it found must be right about it.
		for _, p := range de.Problems {
			for _, lit := range [...]struct{ says, is, or string }{{"got null", "null", "null"}, {"got boolean", "true", "false"}} {
				if !strings.HasSuffix(p.Message, lit.says) {
					continue
				}
				at := jsonOffset(body, p.Line, p.Column)
				if rest := body[at:]; !bytes.HasPrefix(rest, []byte(lit.is)) && !bytes.HasPrefix(rest, []byte(lit.or)) {
					return fail("problem %v says %q where the body has %q", p, lit.says, rest[:min(len(rest), 8)])
				}
			}
		}
		return true
	}
	if len(got) != len(want) {
		return fail("got %d samples %+v\nencoding/json %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Metric != w.Metric || g.Field != w.Field || math.Float64bits(g.Value) != math.Float64bits(w.Value) ||
			!g.Time.Equal(w.Time) || !reflect.DeepEqual(g.Tags, w.Tags) {
			return fail("sample %d: got %+v\nencoding/json %+v", i, g, w)
		}
	}
	return true
}

// jsonOffset is the byte offset of a 1-based line and column.
func jsonOffset(body []byte, line, col int) int {
	off := 0
	for range line - 1 {
		off += bytes.IndexByte(body[off:], '\n') + 1
	}
	return min(off+col-1, len(body))
}

// stdDecodeJSON is DecodeJSON's contract built on encoding/json. Its error
// says why, for the test's messages only.
func stdDecodeJSON(body []byte, opt DecodeOptions) ([]Sample, error) {
	ck := newChecker(opt)
	var values []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	if len(values) == 0 {
		return nil, errors.New("empty body")
	}
	var elems []json.RawMessage
	switch values[0][0] {
	case '[':
		if len(values) > 1 {
			return nil, errors.New("data after the array")
		}
		if err := json.Unmarshal(values[0], &elems); err != nil {
			return nil, err
		}
	case '{':
		var env orderedObject
		if err := json.Unmarshal(values[0], &env); err != nil {
			return nil, err
		}
		if len(env) > 0 && env[0].key == "samples" {
			if len(values) > 1 || len(env) > 1 {
				return nil, errors.New("more than the envelope")
			}
			if env[0].val[0] != '[' {
				return nil, errors.New("samples is not an array")
			}
			if err := json.Unmarshal(env[0].val, &elems); err != nil {
				return nil, err
			}
			break
		}
		elems = values // NDJSON
	default:
		return nil, errors.New("not an array or an object")
	}
	if ck.tooMany(len(elems)) {
		return nil, errors.New("too many samples")
	}
	out := []Sample{}
	for _, e := range elems {
		s, err := stdSample(e, &ck)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// stdSample reads one sample object the way DecodeJSON's rules say.
func stdSample(raw json.RawMessage, ck *checker) (Sample, error) {
	if raw[0] != '{' {
		return Sample{}, errors.New("sample is not an object")
	}
	var obj orderedObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return Sample{}, err
	}
	s := Sample{Field: DefaultField, Time: ck.now}
	seen := map[string]bool{}
	str := func(v json.RawMessage) (string, error) {
		var x string
		if v[0] != '"' {
			return "", errors.New("not a string")
		}
		err := json.Unmarshal(v, &x)
		return x, err
	}
	for _, kv := range obj {
		if seen[kv.key] {
			return Sample{}, errors.New("key given twice")
		}
		seen[kv.key] = true
		v := kv.val
		var err error
		switch kv.key {
		case "metric":
			if s.Metric, err = str(v); err == nil && ck.metricName("metric name", s.Metric) != "" {
				err = errors.New("bad metric name")
			}
		case "field":
			if s.Field, err = str(v); err == nil && ck.metricName("field name", s.Field) != "" {
				err = errors.New("bad field name")
			}
		case "value":
			if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
				err = errors.New("value is not a number")
			} else {
				err = json.Unmarshal(v, &s.Value)
			}
		case "time":
			var msg string
			switch {
			case v[0] == '"':
				var ts string
				if ts, err = str(v); err == nil {
					if s.Time, err = time.Parse(time.RFC3339Nano, ts); err == nil {
						msg = ck.time(s.Time)
					}
				}
			case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
				if s.Time, msg = unixTime(v); msg == "" {
					msg = ck.time(s.Time)
				}
			default:
				msg = "not a time"
			}
			if err == nil && msg != "" {
				err = errors.New(msg)
			}
		case "tags":
			if string(v) == "null" {
				break
			}
			if v[0] != '{' {
				err = errors.New("tags is not an object")
				break
			}
			var tags orderedObject
			if err = json.Unmarshal(v, &tags); err != nil {
				break
			}
			for _, tv := range tags {
				var val string
				if val, err = str(tv.val); err != nil {
					break
				}
				s.Tags = append(s.Tags, Tag{Key: tv.key, Value: val})
			}
			if err == nil {
				if msg := ck.tags(s.Tags); msg != "" {
					err = errors.New(msg)
				}
			}
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return Sample{}, err
		}
	}
	if !seen["metric"] || !seen["value"] {
		return Sample{}, errors.New("metric or value missing")
	}
	return s, nil
}

// orderedObject is a JSON object as its members in order, duplicates kept
// (encoding/json into a map or a struct keeps only the last of a key).
type orderedObject []struct {
	key string
	val json.RawMessage
}

func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // '{', checked by encoding/json already
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, struct {
			key string
			val json.RawMessage
		}{k.(string), v})
	}
	return nil
}
