package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/notifierd/notifierd/pkg/notify"
)

// parseEvent fills ev from value, one JSON object, by the rules of the event contract: names
// matched exactly, unknown and duplicate members rejected, null leaves a member unset, a
// timestamp is an integer. It walks jsontext's tokens by hand because reflection-based
// unmarshalling was the largest item of the daemon's CPU profile; FuzzParseMatchesUnmarshal
// holds it to JSON v2's Unmarshal of notify.Event.
func parseEvent(value []byte, ev *notify.Event) error {
	p := parsers.Get().(*parser)
	defer parsers.Put(p)
	p.src.Reset()
	p.src.Write(value)
	p.dec.Reset(&p.src)
	if err := p.event(ev); err != nil {
		return err
	}
	if _, err := p.dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("invalid data after top-level value")
		}
		return err
	}
	return nil
}

// parser is pooled: a jsontext.Decoder and its buffers are worth reusing at this rate.
type parser struct {
	src     bytes.Buffer // jsontext reads a *bytes.Buffer without copying
	dec     jsontext.Decoder
	scratch []byte // an unescaped member name
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

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

func (p *parser) mbox() (*notify.Mbox, error) {
	var m *notify.Mbox
	return m, p.object("mbox", func(name []byte) (err error) {
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
}

func (p *parser) view() (*notify.View, error) {
	var v *notify.View
	return v, p.object("view", func(name []byte) (err error) {
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
}

func (p *parser) pageLoad() (*notify.PageLoad, error) {
	var pl *notify.PageLoad
	return pl, p.object("pageLoad", func(name []byte) (err error) {
		if string(name) != "state" {
			return unknownMember("pageLoad.", name)
		}
		pl.State, err = p.string("pageLoad.state")
		return err
	}, func() { pl = new(notify.PageLoad) })
}

func (p *parser) address() (*notify.Address, error) {
	var a *notify.Address
	return a, p.object("address", func(name []byte) (err error) {
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
}

func (p *parser) customerIDs() ([]notify.CustomerID, error) {
	var ids []notify.CustomerID
	return ids, p.array("customerIds", func() error {
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
}

func (p *parser) strings(field, elemField string) ([]string, error) {
	var out []string
	return out, p.array(field, func() error {
		s, err := p.string(elemField)
		out = append(out, s)
		return err
	}, func() { out = []string{} })
}

func (p *parser) stringMap(field string) (map[string]string, error) {
	var out map[string]string
	return out, p.object(field, func(name []byte) error {
		key := string(name)
		s, err := p.string(field) // names of the error path only: no concatenation per entry
		out[key] = s
		return err
	}, func() { out = map[string]string{} })
}

// object reads an object (or null, which leaves it unset) and calls member for each name,
// with the decoder at the member's value. opened, if given, runs at the '{'.
func (p *parser) object(field string, member func(name []byte) error, opened ...func()) error {
	switch k := p.dec.PeekKind(); k {
	case 'n':
		_, err := p.dec.ReadToken()
		return err
	case '{':
	default:
		return p.wrongKind(field, k, "an object")
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	for _, f := range opened {
		f()
	}
	for {
		switch p.dec.PeekKind() {
		case '}':
			_, err := p.dec.ReadToken()
			return err
		case '"':
			name, err := p.name()
			if err != nil {
				return err
			}
			if err := member(name); err != nil {
				return err
			}
		default: // a syntax error: let the tokenizer describe it
			_, err := p.dec.ReadToken()
			return err
		}
	}
}

// array reads an array (or null) and calls elem with the decoder at each element.
func (p *parser) array(field string, elem func() error, opened func()) error {
	switch k := p.dec.PeekKind(); k {
	case 'n':
		_, err := p.dec.ReadToken()
		return err
	case '[':
	default:
		return p.wrongKind(field, k, "an array")
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	opened()
	for {
		switch p.dec.PeekKind() {
		case ']':
			_, err := p.dec.ReadToken()
			return err
		case 0:
			_, err := p.dec.ReadToken()
			return err
		default:
			if err := elem(); err != nil {
				return err
			}
		}
	}
}

// name reads an object member name without allocating: the bytes stay valid until the
// next name (they point into the source, or into the scratch buffer when escaped).
func (p *parser) name() ([]byte, error) {
	v, err := p.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	p.scratch, err = jsontext.AppendUnquote(p.scratch[:0], v)
	return p.scratch, err
}

func (p *parser) string(field string) (string, error) {
	switch k := p.dec.PeekKind(); k {
	case 'n':
		_, err := p.dec.ReadToken()
		return "", err
	case '"':
		v, err := p.dec.ReadValue()
		if err != nil {
			return "", err
		}
		return unquote(v)
	default:
		return "", p.wrongKind(field, k, "a string")
	}
}

func (p *parser) int64(field string) (int64, error) {
	switch k := p.dec.PeekKind(); k {
	case 'n':
		_, err := p.dec.ReadToken()
		return 0, err
	case '0':
		v, err := p.dec.ReadValue()
		if err != nil {
			return 0, err
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

// raw copies a value as it stands; its kind is checked by validation.
func (p *parser) raw() (json.RawMessage, error) {
	v, err := p.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.Clone(v)), nil
}

// wrongKind reports a value of the wrong JSON kind, or the syntax error that hides behind an
// invalid kind.
func (p *parser) wrongKind(field string, k jsontext.Kind, want string) error {
	if k == 0 {
		_, err := p.dec.ReadToken()
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: got a JSON %s, want %s", field, kindName(k), want)
}

func unknownMember(prefix string, name []byte) error {
	return fmt.Errorf("unknown member %q", prefix+string(name))
}

func kindName(k jsontext.Kind) string {
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

func unquote(v jsontext.Value) (string, error) {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	b, err := jsontext.AppendUnquote(nil, v)
	return string(b), err
}

// parseInt accepts what strconv.ParseInt does of a JSON number: an optional minus and digits.
func parseInt(v []byte) (int64, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
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
