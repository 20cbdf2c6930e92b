package event

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/notifierd/notifierd/pkg/notify"
)

// parseEvent fills ev from value, one JSON object, by the rules of the event contract: names
// matched exactly, unknown and duplicate members rejected, null leaves a member unset, a
// timestamp is an integer. value must be valid UTF-8 (Decode checks it first). It scans the
// bytes by hand because reflection-based unmarshalling, and then a walk over jsontext's
// tokens, were the largest items of the daemon's CPU profile; FuzzParseMatchesUnmarshal
// holds it to JSON v2's Unmarshal of notify.Event.
func parseEvent(value []byte, ev *notify.Event) error {
	p := parser{data: value}
	switch p.peek() {
	case 'n':
		if err := p.literal("null"); err != nil {
			return err
		}
	case '{':
		if err := p.event(ev); err != nil {
			return err
		}
	case 0:
		return p.syntaxError("unexpected end of input")
	default:
		return fmt.Errorf("got a JSON %s, want an object", kindName(p.peek()))
	}
	if p.peek(); p.pos != len(p.data) {
		return p.syntaxError("invalid data after top-level value")
	}
	return nil
}

// parser scans one message. Strings and raw values without escapes or whitespace are views
// of the message, not copies: Decode's caller keeps the message unchanged for as long as
// the notification lives (the daemon holds it anyway, for a dead-letter copy), and a copy
// of every string was a fifth of the daemon's allocations.
type parser struct {
	data []byte
	pos  int
	// spaced records that validValue met whitespace between tokens: the raw value it
	// checked needs compacting.
	spaced bool
}

// text is b as a string without a copy: b is part of the message, or a fresh unescaped copy,
// and neither is ever written again.
func text(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (p *parser) event(ev *notify.Event) error {
	return p.object("", func(name []byte) (err error) {
		switch string(name) {
		case "type":
			ev.Type, err = p.string("type")
		case "timestamp":
			ev.Timestamp, err = p.int64("timestamp")
		case "sessionId":
			ev.SessionID, err = p.string("sessionId")
		case "tntId":
			ev.TntID, err = p.string("tntId")
		case "thirdPartyId":
			ev.ThirdPartyID, err = p.string("thirdPartyId")
		case "marketingCloudVisitorId":
			ev.MarketingCloudVisitorID, err = p.string("marketingCloudVisitorId")
		case "mbox":
			ev.Mbox, err = p.mbox()
		case "view":
			ev.View, err = p.view()
		case "pageLoad":
			ev.PageLoad, err = p.pageLoad()
		case "tokens":
			ev.Tokens, err = p.strings("tokens", "tokens[]")
		case "id":
			ev.ID, err = p.string("id")
		case "client":
			ev.Client, err = p.string("client")
		case "targetCookie":
			ev.TargetCookie, err = p.string("targetCookie")
		case "locationHint":
			ev.LocationHint, err = p.string("locationHint")
		case "customerIds":
			ev.CustomerIDs, err = p.customerIDs()
		case "propertyToken":
			ev.PropertyToken, err = p.string("propertyToken")
		case "impressionId":
			ev.ImpressionID, err = p.string("impressionId")
		case "parameters":
			ev.Parameters, err = p.stringMap("parameters")
		case "profileParameters":
			ev.ProfileParameters, err = p.stringMap("profileParameters")
		case "order":
			ev.Order, err = p.raw()
		case "product":
			ev.Product, err = p.raw()
		case "address":
			ev.Address, err = p.address()
		case "context":
			ev.Context, err = p.raw()
		case "analytics":
			ev.Analytics, err = p.raw()
		default:
			return unknownMember("", name)
		}
		return err
	})
}

// The readers below return their result after the call that fills it: in `return v, f()`
// Go leaves unspecified whether v is read before or after f runs.

func (p *parser) mbox() (*notify.Mbox, error) {
	var m *notify.Mbox
	err := p.object("mbox", func(name []byte) (err error) {
		switch string(name) {
		case "name":
			m.Name, err = p.string("mbox.name")
		case "state":
			m.State, err = p.string("mbox.state")
		default:
			return unknownMember("mbox.", name)
		}
		return err
	}, func() { m = new(notify.Mbox) })
	return m, err
}

func (p *parser) view() (*notify.View, error) {
	var v *notify.View
	err := p.object("view", func(name []byte) (err error) {
		switch string(name) {
		case "name":
			v.Name, err = p.string("view.name")
		case "key":
			v.Key, err = p.string("view.key")
		case "state":
			v.State, err = p.string("view.state")
		default:
			return unknownMember("view.", name)
		}
		return err
	}, func() { v = new(notify.View) })
	return v, err
}

func (p *parser) pageLoad() (*notify.PageLoad, error) {
	var pl *notify.PageLoad
	err := p.object("pageLoad", func(name []byte) (err error) {
		if string(name) != "state" {
			return unknownMember("pageLoad.", name)
		}
		pl.State, err = p.string("pageLoad.state")
		return err
	}, func() { pl = new(notify.PageLoad) })
	return pl, err
}

func (p *parser) address() (*notify.Address, error) {
	var a *notify.Address
	err := p.object("address", func(name []byte) (err error) {
		switch string(name) {
		case "url":
			a.URL, err = p.string("address.url")
		case "referringUrl":
			a.ReferringURL, err = p.string("address.referringUrl")
		default:
			return unknownMember("address.", name)
		}
		return err
	}, func() { a = new(notify.Address) })
	return a, err
}

func (p *parser) customerIDs() ([]notify.CustomerID, error) {
	var ids []notify.CustomerID
	err := p.array("customerIds", func() error {
		ids = append(ids, notify.CustomerID{})
		c := &ids[len(ids)-1]
		return p.object("customerIds[]", func(name []byte) (err error) {
			switch string(name) {
			case "id":
				c.ID, err = p.string("customerIds[].id")
			case "integrationCode":
				c.IntegrationCode, err = p.string("customerIds[].integrationCode")
			case "authenticatedState":
				c.AuthenticatedState, err = p.string("customerIds[].authenticatedState")
			default:
				return unknownMember("customerIds[].", name)
			}
			return err
		})
	}, func() { ids = []notify.CustomerID{} })
	return ids, err
}

func (p *parser) strings(field, elemField string) ([]string, error) {
	var out []string
	err := p.array(field, func() error {
		s, err := p.string(elemField)
		out = append(out, s)
		return err
	}, func() { out = []string{} })
	return out, err
}

func (p *parser) stringMap(field string) (map[string]string, error) {
	var out map[string]string
	err := p.object(field, func(name []byte) error {
		key := text(name)
		s, err := p.string(field) // names of the error path only: no concatenation per entry
		out[key] = s
		return err
	}, func() { out = map[string]string{} })
	return out, err
}

// object reads an object (or null, which leaves it unset) and calls member for each name,
// with the parser at the member's value. opened, if given, runs at the '{'. A name seen
// twice is an error, as in JSON v2: the last one would silently win otherwise.
func (p *parser) object(field string, member func(name []byte) error, opened ...func()) error {
	switch k := p.peek(); k {
	case 'n':
		return p.literal("null")
	case '{':
		p.pos++
	default:
		return p.wrongKind(field, k, "an object")
	}
	for _, f := range opened {
		f()
	}
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	var small [24][]byte
	names := nameSet{small: small[:0]}
	for {
		if p.peek() != '"' {
			return p.syntaxError("want an object member name")
		}
		name, err := p.str()
		if err != nil {
			return err
		}
		var dup bool
		if names, dup = names.add(name); dup {
			return fmt.Errorf("%s: duplicate member %q", cmp.Or(field, "event"), name)
		}
		if p.peek() != ':' {
			return p.syntaxError("want ':' after an object member name")
		}
		p.pos++
		if err := member(name); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.syntaxError("want ',' or '}' after an object member")
		}
	}
}

// nameSet holds the member names of one object. Up to 24 are compared behind a filter of a
// bit per (length, first byte), so most names need no comparison; beyond that a map keeps an
// object of thousands of members linear.
type nameSet struct {
	small  [][]byte
	filter uint64
	large  map[string]struct{}
}

// add records name and reports whether it was there already. It takes and returns the set
// by value: written through a pointer, the caller's array of names would escape to the heap.
func (s nameSet) add(name []byte) (nameSet, bool) {
	if s.large != nil {
		if _, dup := s.large[string(name)]; dup {
			return s, true
		}
		s.large[string(name)] = struct{}{}
		return s, false
	}
	bit := uint64(1) << ((uint(len(name))*31 + uint(firstByte(name))) & 63)
	if s.filter&bit != 0 {
		for _, prev := range s.small {
			if bytes.Equal(prev, name) {
				return s, true
			}
		}
	}
	s.filter |= bit
	if len(s.small) < cap(s.small) {
		s.small = append(s.small, name)
		return s, false
	}
	s.large = make(map[string]struct{}, 2*len(s.small))
	for _, prev := range s.small {
		s.large[string(prev)] = struct{}{}
	}
	s.large[string(name)] = struct{}{}
	return s, false
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// array reads an array (or null) and calls elem with the parser at each element.
func (p *parser) array(field string, elem func() error, opened func()) error {
	switch k := p.peek(); k {
	case 'n':
		return p.literal("null")
	case '[':
		p.pos++
	default:
		return p.wrongKind(field, k, "an array")
	}
	opened()
	if p.peek() == ']' {
		p.pos++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.syntaxError("want ',' or ']' after an array element")
		}
	}
}

func (p *parser) string(field string) (string, error) {
	switch k := p.peek(); k {
	case 'n':
		return "", p.literal("null")
	case '"':
		b, err := p.str()
		return text(b), err
	default:
		return "", p.wrongKind(field, k, "a string")
	}
}

func (p *parser) int64(field string) (int64, error) {
	switch k := p.peek(); k {
	case 'n':
		return 0, p.literal("null")
	case '0':
		start := p.pos
		for p.pos < len(p.data) && isNumberByte(p.data[p.pos]) {
			p.pos++
		}
		v := p.data[start:p.pos]
		if !isJSONInteger(v) {
			if !jsontext.Value(v).IsValid() {
				return 0, p.syntaxError(fmt.Sprintf("invalid number %q", v))
			}
			return 0, fmt.Errorf("%s: %s is not an integer of 64 bits", field, v)
		}
		n, ok := parseInt(v)
		if !ok {
			return 0, fmt.Errorf("%s: %s is not an integer of 64 bits", field, v)
		}
		return n, nil
	default:
		return 0, p.wrongKind(field, k, "an integer")
	}
}

// raw returns a value, checked to be valid JSON (I-JSON: no duplicate names) and compact: a
// view of the message when it has no whitespace, else a compacted copy. Its kind is checked
// by validation.
func (p *parser) raw() (json.RawMessage, error) {
	p.peek() // past the whitespace before the value
	start := p.pos
	p.spaced = false
	if p.validValue(0) {
		return compactRaw(p.data[start:p.pos], p.spaced, start)
	}
	p.pos = start // rejected: go over it again the slow way, to say why
	spaced, err := p.skipValue()
	if err != nil {
		return nil, err
	}
	v := p.data[start:p.pos]
	if !jsontext.Value(v).IsValid() {
		return nil, fmt.Errorf("invalid JSON value at offset %d: %w", start, whyInvalid(v))
	}
	return compactRaw(v, spaced, start)
}

// compactRaw returns v, a valid value found at offset start, as a view of the message when it
// has no whitespace, else as a compacted copy.
func compactRaw(v []byte, spaced bool, start int) (json.RawMessage, error) {
	if !spaced {
		return json.RawMessage(v[:len(v):len(v)]), nil // capped: an append cannot reach the message
	}
	out := jsontext.Value(bytes.Clone(v))
	if err := out.Compact(); err != nil {
		return nil, fmt.Errorf("invalid JSON value at offset %d: %w", start, err)
	}
	return json.RawMessage(out), nil
}

// whyInvalid explains what IsValid rejected, by reading v with jsontext's decoder.
func whyInvalid(v []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if _, err := dec.ReadValue(); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return fmt.Errorf("data after the value: %v", err)
	}
	return errors.New("not valid I-JSON")
}

// skipValue moves past one value, finding where it ends and whether it has whitespace to
// compact; raw checks what it skipped.
func (p *parser) skipValue() (spaced bool, err error) {
	switch p.peek() {
	case 0:
		return false, p.syntaxError("unexpected end of input")
	case '"':
		_, err := p.str()
		return false, err
	case '{', '[':
		depth := 0
		for p.pos < len(p.data) {
			switch p.data[p.pos] {
			case '"':
				if _, err := p.str(); err != nil {
					return false, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.pos++
					return spaced, nil
				}
			case ' ', '\t', '\n', '\r':
				spaced = true
			}
			p.pos++
		}
		return false, p.syntaxError("unexpected end of input")
	default: // a number or a literal
		start := p.pos
		for p.pos < len(p.data) && !isDelimiter(p.data[p.pos]) {
			p.pos++
		}
		if p.pos == start { // a delimiter where a value should start
			return false, p.syntaxError(fmt.Sprintf("invalid character %q", p.data[p.pos]))
		}
		return false, nil
	}
}

// str reads a string at p.pos and returns its contents: a slice of the message when it has
// no escapes, else a fresh unescaped copy.
func (p *parser) str() ([]byte, error) {
	start := p.pos + 1
	i := start + plainPrefix(p.data[start:])
	switch {
	case i == len(p.data):
		p.pos = i
		return nil, p.syntaxError("unterminated string")
	case p.data[i] == '"':
		p.pos = i + 1
		return p.data[start:i], nil
	case p.data[i] == '\\':
		return p.escapedStr()
	default:
		p.pos = i
		return nil, p.syntaxError("control character in a string")
	}
}

// plainPrefix returns how many bytes of b precede the first one a JSON string cannot hold
// as it is (len(b) if none does). It tests eight bytes at a time: scanning strings byte by
// byte was the largest item of the decoder's profile.
func plainPrefix(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := w^('"'*ones), w^('\\'*ones)
		// A byte's high bit is set where it is below 0x20, or zero after the xor. Borrows
		// can mark bytes above a real hit, never below one, so the lowest mark is exact.
		hits := ((w-0x20*ones)&^w | (quote-ones)&^quote | (backslash-ones)&^backslash) & highs
		if hits != 0 {
			return i + bits.TrailingZeros64(hits)/8
		}
	}
	for ; i < len(b) && !needsEscape[b[i]]; i++ {
	}
	return i
}

// needsEscape marks the bytes a JSON string cannot hold as they are: the quote, the
// backslash and the control characters.
var needsEscape = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (p *parser) escapedStr() ([]byte, error) {
	start := p.pos
	i := start + 1
	for ; i < len(p.data); i++ {
		if c := p.data[i]; c == '\\' {
			i++
		} else if c == '"' {
			break
		}
	}
	if i >= len(p.data) {
		p.pos = len(p.data)
		return nil, p.syntaxError("unterminated string")
	}
	p.pos = i + 1
	out, err := jsontext.AppendUnquote(nil, p.data[start:p.pos]) // validates escapes and surrogates
	if err != nil {
		return nil, fmt.Errorf("invalid string at offset %d: %w", start, err)
	}
	return out, nil
}

func (p *parser) literal(lit string) error {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(lit)) {
		return p.syntaxError("invalid literal")
	}
	p.pos += len(lit)
	return nil
}

// peek skips whitespace and returns the kind of what follows: '0' for a number, the byte
// itself otherwise, 0 at the end.
func (p *parser) peek() byte {
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; c {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return '0'
		default:
			return c
		}
	}
	return 0
}

func (p *parser) syntaxError(what string) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", p.pos, what)
}

// wrongKind reports a value of the wrong JSON kind.
func (p *parser) wrongKind(field string, k byte, want string) error {
	if k == 0 {
		return p.syntaxError("unexpected end of input")
	}
	if kindName(k) == "value" {
		return p.syntaxError(fmt.Sprintf("invalid character %q", p.data[p.pos]))
	}
	return fmt.Errorf("%s: got a JSON %s, want %s", field, kindName(k), want)
}

func unknownMember(prefix string, name []byte) error {
	return fmt.Errorf("unknown member %q", prefix+string(name))
}

func kindName(k byte) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}

// isJSONInteger reports whether v is -?(0|[1-9][0-9]*), the integers of JSON's grammar.
func isJSONInteger(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 1 && v[0] == '0' {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseInt converts a JSON integer, reporting whether it fits in 64 bits.
func parseInt(v []byte) (int64, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	var n uint64
	for _, c := range v {
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n > 1<<63-1, neg && n > 1<<63:
		return 0, false
	case neg:
		return -int64(n), true
	}
	return int64(n), true
}
