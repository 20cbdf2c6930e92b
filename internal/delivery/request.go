package delivery

import (
	"bytes"
	"encoding/json"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
)

// Body renders a Delivery API request for env and items. The notifications were rendered
// at decode time, so this is concatenation.
func Body(env *event.Envelope, items []*batch.Item) []byte {
	size := 256 + len(env.Context) + len(env.Analytics)
	for _, it := range items {
		size += len(it.Notification.Body) + 1
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"context":`)
	b.Write(env.Context)
	b.WriteString(`,"id":`)
	writeVisitor(&b, env)
	if env.PropertyToken != "" {
		b.WriteString(`,"property":{"token":`)
		writeString(&b, env.PropertyToken)
		b.WriteByte('}')
	}
	if len(env.Analytics) > 0 {
		b.WriteString(`,"experienceCloud":{"analytics":`)
		b.Write(env.Analytics)
		b.WriteByte('}')
	}
	b.WriteString(`,"notifications":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it.Notification.Body)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func writeVisitor(b *bytes.Buffer, env *event.Envelope) {
	b.WriteByte('{')
	switch {
	case env.TntID != "":
		b.WriteString(`"tntId":`)
		writeString(b, env.TntID)
	case env.ThirdPartyID != "":
		b.WriteString(`"thirdPartyId":`)
		writeString(b, env.ThirdPartyID)
	default:
		b.WriteString(`"marketingCloudVisitorId":`)
		writeString(b, env.MCID)
	}
	if len(env.CustomerIDs) > 0 {
		ids, _ := json.Marshal(env.CustomerIDs) // plain strings: cannot fail
		b.WriteString(`,"customerIds":`)
		b.Write(ids)
	}
	b.WriteByte('}')
}

// writeString writes s as encoding/json quotes it. Ids and tokens are plain ASCII, which
// needs no escaping and no call to json.Marshal (two allocations per string).
func writeString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always marshals
			b.Write(quoted)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}
