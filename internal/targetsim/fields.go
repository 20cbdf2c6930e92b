package targetsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	jsonv2 "github.com/go-json-experiment/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rejection is a request Target refuses as a whole: status (400 or 413) and a
// message naming the offending field, as in Target's {"status","message"} errors.
type rejection struct {
	status  int
	message string
}

func (r *rejection) Error() string { return r.message }

func invalid(path, format string, args ...any) *rejection {
	return &rejection{status: http.StatusBadRequest, message: path + ": " + fmt.Sprintf(format, args...)}
}

// fields is one decoded JSON object, kept as raw members so each known field
// can be type-checked on its own and its exact bytes kept for the records.
// Members not looked up (unknown fields) are allowed, as in Adobe's spec.
type fields struct {
	path string
	m    map[string]json.RawMessage
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// asObject decodes raw as a JSON object; null is a type error, since Adobe's
// schemas declare nothing nullable.
func asObject(raw json.RawMessage, path string) (fields, *rejection) {
	if jsonKind(raw) != "an object" {
		return fields{}, invalid(path, "must be an object, got %s", jsonKind(raw))
	}
	m, err := splitObject(raw)
	if err != nil {
		return fields{}, invalid(path, "invalid JSON: %v", err)
	}
	return fields{path: path, m: m}, nil
}

func (f fields) at(name string) string {
	if f.path == "" {
		return name
	}
	return f.path + "." + name
}

func (f fields) has(name string) bool {
	_, ok := f.m[name]
	return ok
}

func (f fields) missing(name string) *rejection { return invalid(f.at(name), "required") }

func (f fields) object(name string, required bool) (fields, bool, *rejection) {
	raw, ok := f.m[name]
	if !ok {
		if required {
			return fields{}, false, f.missing(name)
		}
		return fields{}, false, nil
	}
	o, rej := asObject(raw, f.at(name))
	return o, rej == nil, rej
}

func (f fields) array(name string, required bool) ([]json.RawMessage, bool, *rejection) {
	raw, ok := f.m[name]
	if !ok {
		if required {
			return nil, false, f.missing(name)
		}
		return nil, false, nil
	}
	if jsonKind(raw) != "an array" {
		return nil, false, invalid(f.at(name), "must be an array, got %s", jsonKind(raw))
	}
	a, err := splitArray(raw)
	if err != nil {
		return nil, false, invalid(f.at(name), "invalid JSON: %v", err)
	}
	return a, true, nil
}

// str checks an optional string member; minLen/maxLen count characters (as
// JSON Schema does), maxLen 0 means unbounded.
func (f fields) str(name string, required bool, minLen, maxLen int) (string, bool, *rejection) {
	raw, ok := f.m[name]
	if !ok {
		if required {
			return "", false, f.missing(name)
		}
		return "", false, nil
	}
	v, rej := asString(raw, f.at(name), minLen, maxLen)
	return v, rej == nil, rej
}

func asString(raw json.RawMessage, path string, minLen, maxLen int) (string, *rejection) {
	if jsonKind(raw) != "a string" {
		return "", invalid(path, "must be a string, got %s", jsonKind(raw))
	}
	var v string
	if t := bytes.TrimSpace(raw); len(t) >= 2 && t[len(t)-1] == '"' && bytes.IndexByte(t, '\\') < 0 {
		v = string(t[1 : len(t)-1]) // no escapes: raw was validated with the whole body
	} else if err := jsonv2.Unmarshal(raw, &v); err != nil {
		return "", invalid(path, "invalid JSON string: %v", err)
	}
	n := utf8.RuneCountInString(v)
	switch {
	case minLen > 0 && strings.TrimSpace(v) == "":
		return "", invalid(path, "must not be empty or blank")
	case n < minLen:
		return "", invalid(path, "must be at least %d characters, got %d", minLen, n)
	case maxLen > 0 && n > maxLen:
		return "", invalid(path, "must be at most %d characters, got %d", maxLen, n)
	}
	return v, nil
}

func (f fields) enum(name string, required bool, allowed ...string) (string, bool, *rejection) {
	v, ok, rej := f.str(name, required, 0, 0)
	if rej != nil || !ok {
		return "", ok, rej
	}
	if !slices.Contains(allowed, v) {
		return "", false, invalid(f.at(name), "must be one of %s, got %q", quoteAll(allowed), v)
	}
	return v, true, nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func (f fields) boolean(name string) (bool, bool, *rejection) {
	raw, ok := f.m[name]
	if !ok {
		return false, false, nil
	}
	if jsonKind(raw) != "a boolean" {
		return false, false, invalid(f.at(name), "must be a boolean, got %s", jsonKind(raw))
	}
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true")), true, nil
}

func (f fields) number(name string) (float64, bool, *rejection) {
	raw, ok := f.m[name]
	if !ok {
		return 0, false, nil
	}
	if jsonKind(raw) != "a number" {
		return 0, false, invalid(f.at(name), "must be a number, got %s", jsonKind(raw))
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	if err != nil {
		return 0, false, invalid(f.at(name), "must be a number: %v", err)
	}
	return v, true, nil
}

// integer accepts only integral JSON numbers that fit in int64 (format int64).
func (f fields) integer(name string, required bool) (int64, bool, *rejection) {
	raw, ok := f.m[name]
	if !ok {
		if required {
			return 0, false, f.missing(name)
		}
		return 0, false, nil
	}
	if jsonKind(raw) != "a number" {
		return 0, false, invalid(f.at(name), "must be an integer, got %s", jsonKind(raw))
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		return 0, false, invalid(f.at(name), "must be an integer, got %s", bytes.TrimSpace(raw))
	}
	return v, true, nil
}

// stringList checks an optional array of strings, each within the length bounds.
func (f fields) stringList(name string, minLen, maxLen int) ([]string, bool, *rejection) {
	a, ok, rej := f.array(name, false)
	if rej != nil || !ok {
		return nil, ok, rej
	}
	out := make([]string, len(a))
	for i, raw := range a {
		v, rej := asString(raw, fmt.Sprintf("%s[%d]", f.at(name), i), minLen, maxLen)
		if rej != nil {
			return nil, false, rej
		}
		out[i] = v
	}
	return out, true, nil
}

type kind int

const (
	kString kind = iota
	kNumber
	kInteger
	kBoolean
	kObject
	kArray
)

// member declares the simple checks of one known field, so plain objects of the
// spec can be checked from a table; fields with rules beyond type, length and
// enum are checked by hand.
type member struct {
	name           string
	kind           kind
	required       bool
	minLen, maxLen int
	enum           []string
}

func optString(name string, minLen, maxLen int) member {
	return member{name: name, kind: kString, minLen: minLen, maxLen: maxLen}
}
func reqString(name string, minLen, maxLen int) member {
	return member{name: name, kind: kString, required: true, minLen: minLen, maxLen: maxLen}
}
func optEnum(name string, vals ...string) member {
	return member{name: name, kind: kString, enum: vals}
}
func reqEnum(name string, vals ...string) member {
	return member{name: name, kind: kString, required: true, enum: vals}
}
func optNumber(name string) member  { return member{name: name, kind: kNumber} }
func optInteger(name string) member { return member{name: name, kind: kInteger} }
func optBoolean(name string) member { return member{name: name, kind: kBoolean} }
func optObject(name string) member  { return member{name: name, kind: kObject} }
func optArray(name string) member   { return member{name: name, kind: kArray} }

// check applies the members in order and returns the first failure.
func (f fields) check(ms ...member) *rejection {
	for _, m := range ms {
		var rej *rejection
		switch {
		case m.kind == kString && len(m.enum) > 0:
			_, _, rej = f.enum(m.name, m.required, m.enum...)
		case m.kind == kString:
			_, _, rej = f.str(m.name, m.required, m.minLen, m.maxLen)
		case m.kind == kNumber:
			_, _, rej = f.number(m.name)
		case m.kind == kInteger:
			_, _, rej = f.integer(m.name, m.required)
		case m.kind == kBoolean:
			_, _, rej = f.boolean(m.name)
		case m.kind == kObject:
			_, _, rej = f.object(m.name, m.required)
		case m.kind == kArray:
			_, _, rej = f.array(m.name, m.required)
		}
		if rej != nil {
			return rej
		}
	}
	return nil
}

// sub checks the members of an optional object member.
func (f fields) sub(name string, ms ...member) *rejection {
	o, ok, rej := f.object(name, false)
	if rej != nil || !ok {
		return rej
	}
	return o.check(ms...)
}
