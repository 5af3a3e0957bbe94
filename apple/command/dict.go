package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Dict is a free-form property-list dictionary inside a command: an app's
// managed configuration, an enterprise app manifest, one Settings item.
// Its values are property-list values (string, bool, the integer and
// float types, []byte, time.Time, []any, map[string]any, Dict).
//
// From JSON, a number without a fraction or exponent becomes an int64
// (<integer>), any other number a float64 (<real>); strings stay strings,
// so <data> and <date> values cannot be written through JSON. null is
// rejected, and so is nesting deeper than MaxDictDepth.
type Dict map[string]any

// MaxDictDepth is the deepest nesting of objects and arrays Dict accepts
// from JSON.
const MaxDictDepth = 32

// UnmarshalJSON implements json.Unmarshaler.
func (d *Dict) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if v == nil {
		// encoding/json leaves a field alone for null; match it.
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("command: a dictionary must be a JSON object")
	}
	conv, err := fromJSON(m, 1)
	if err != nil {
		return err
	}
	*d = Dict(conv.(map[string]any))
	return nil
}

// fromJSON converts a value decoded with UseNumber into property-list
// values.
func fromJSON(v any, depth int) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if depth > MaxDictDepth {
			return nil, fmt.Errorf("command: dictionary nests deeper than %d", MaxDictDepth)
		}
		for k, e := range v {
			c, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	case []any:
		if depth > MaxDictDepth {
			return nil, fmt.Errorf("command: dictionary nests deeper than %d", MaxDictDepth)
		}
		for i, e := range v {
			c, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	case json.Number:
		return jsonNumber(v)
	case string, bool:
		return v, nil
	case nil:
		return nil, fmt.Errorf("command: null has no property-list form")
	default:
		return nil, fmt.Errorf("command: unexpected JSON value %T", v)
	}
}

// jsonNumber converts a JSON number: integral literals to int64 (uint64
// when too large for it), others to float64.
func jsonNumber(n json.Number) (any, error) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
		return nil, fmt.Errorf("command: integer %s does not fit 64 bits", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("command: number %s does not fit a float64", s)
	}
	return f, nil
}
