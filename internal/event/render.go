package event

import (
	"slices"
	"strconv"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/notifierd/notifierd/pkg/notify"
)

// wireNotification is one element of a request's notifications array.
type wireNotification struct {
	ID, Type, ImpressionID string
	Timestamp              int64
	Tokens                 []string
	Mbox                   *notify.Mbox
	View                   *notify.View
	PageLoad               *notify.PageLoad
	Address                *notify.Address
	Parameters             map[string]string
	ProfileParameters      map[string]string
	Order, Product         []byte // compact JSON objects, or nil
}

// appendJSON renders n by hand, in a fixed member order with map keys sorted, so equal
// events render to equal bytes. An empty pageLoad stays as {}: it is meaningful to Target.
// Strings come from valid UTF-8 input, so quoting cannot fail.
func (n *wireNotification) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, n.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, n.Type)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, n.Timestamp, 10)
	if n.ImpressionID != "" {
		b = append(b, `,"impressionId":`...)
		b = appendString(b, n.ImpressionID)
	}
	b = append(b, `,"tokens":[`...)
	for i, t := range n.Tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, ']')
	if m := n.Mbox; m != nil {
		b = append(b, `,"mbox":{"name":`...)
		b = appendString(b, m.Name)
		b = appendMember(b, ',', "state", m.State)
		b = append(b, '}')
	}
	if v := n.View; v != nil {
		b = append(b, `,"view":`...)
		b = appendMembers(b, "name", v.Name, "key", v.Key, "state", v.State)
	}
	if pl := n.PageLoad; pl != nil {
		b = append(b, `,"pageLoad":`...)
		b = appendMembers(b, "state", pl.State)
	}
	if a := n.Address; a != nil {
		b = append(b, `,"address":`...)
		b = appendMembers(b, "url", a.URL, "referringUrl", a.ReferringURL)
	}
	b = appendMap(b, "parameters", n.Parameters)
	b = appendMap(b, "profileParameters", n.ProfileParameters)
	if n.Order != nil {
		b = append(b, `,"order":`...)
		b = append(b, n.Order...)
	}
	if n.Product != nil {
		b = append(b, `,"product":`...)
		b = append(b, n.Product...)
	}
	return append(b, '}')
}

// appendMembers renders an object of the non-empty (name, value) pairs.
func appendMembers(b []byte, pairs ...string) []byte {
	sep := byte('{')
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			b = appendMember(b, sep, pairs[i], pairs[i+1])
			sep = ','
		}
	}
	if sep == '{' {
		b = append(b, '{')
	}
	return append(b, '}')
}

func appendMember(b []byte, sep byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, sep, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendMap renders a parameters map with sorted keys; nil is left out, empty stays {}.
func appendMap(b []byte, name string, m map[string]string) []byte {
	if m == nil {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":{`...)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendString quotes s. Most strings need no escape and are copied as they are; the rest
// are valid UTF-8 (the message was checked), so quoting cannot fail.
func appendString(b []byte, s string) []byte {
	if plainPrefix(unsafe.Slice(unsafe.StringData(s), len(s))) < len(s) {
		out, _ := jsontext.AppendQuote(b, s)
		return out
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
