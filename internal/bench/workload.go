package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/notifierd/notifierd/internal/testbed"
	"github.com/notifierd/notifierd/pkg/notify"
)

// Event sizes the workload aims at: each event's JSON is drawn uniformly in this range
// (events whose identity and content alone are larger keep their natural size).
const (
	MinEventBytes = 300
	MaxEventBytes = 800
)

// Message is one generated Kafka message plus what the minimum-requests computation needs.
type Message struct {
	Key, Value []byte
	Stamp      Stamp
}

// Workload generates realistic display and click events: visitors browse page after page;
// a page view is a burst of one to six events of one session produced together (the view,
// its mboxes, now and then a click), and one page view in a hundred is a product grid of 20 to
// 80 displays. Sessions are picked at random for each page view, so a session's page views
// are spread over the whole production. Identity and context are fixed per session (they are
// notifierd's batching key); mbox or view, state, tokens, address and parameters vary per event.
type Workload struct {
	rng      *rand.Rand
	prefix   string // notification ids are prefix + sequence number
	seq      int
	sessions []session
	pad      []byte // random URL-safe characters to cut padding from
}

type session struct {
	id            string
	tntID         string
	thirdPartyID  string
	mcid          string
	customerIDs   []notify.CustomerID
	propertyToken string
	context       json.RawMessage
}

// NewWorkload returns a generator over the given number of sessions (at least one).
// The same seed gives the same sessions and the same sequence of events.
func NewWorkload(sessions int, seed uint64, idPrefix string) *Workload {
	w := &Workload{rng: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)), prefix: idPrefix}
	w.sessions = make([]session, max(sessions, 1))
	for i := range w.sessions {
		w.sessions[i] = w.newSession(i)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	w.pad = make([]byte, 64<<10)
	for i := range w.pad {
		w.pad[i] = alphabet[w.rng.IntN(len(alphabet))]
	}
	return w
}

// Sessions is the number of sessions the workload draws from.
func (w *Workload) Sessions() int { return len(w.sessions) }

var (
	mboxNames = []string{"hero-banner", "homepage-recs", "category-banner", "product-recs", "cross-sell",
		"search-recs", "cart-upsell", "checkout-offer", "shipping-promo", "loyalty-teaser", "footer-promo"}
	viewNames = []string{"home", "category", "product-detail", "search-results", "cart", "checkout", "account"}
	pages     = []string{"/", "/c/running", "/c/outdoor/jackets", "/p/trail-shoe-42", "/p/rain-jacket-7",
		"/search?q=rain+jacket", "/cart", "/checkout", "/account/orders"}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
	}
)

// newSession draws a visitor: a tntId with a location hint (most), a bare tntId, a
// thirdPartyId with customerIds, or a marketingCloudVisitorId; half of them send a context.
func (w *Workload) newSession(n int) session {
	s := session{id: testbed.RandomHex(w.rng, 16)}
	switch r := w.rng.Float64(); {
	case r < 0.50:
		s.tntID = testbed.RandomUUID(w.rng) + "." + testbed.LocationHints[w.rng.IntN(len(testbed.LocationHints))] + "_0"
	case r < 0.65:
		s.tntID = testbed.RandomUUID(w.rng)
	case r < 0.85:
		s.thirdPartyID = fmt.Sprintf("crm-%07d", n)
		s.customerIDs = []notify.CustomerID{{ID: strconv.Itoa(10_000_000 + n), IntegrationCode: "loyalty", AuthenticatedState: "authenticated"}}
	default:
		s.mcid = testbed.RandomMCID(w.rng)
	}
	switch r := w.rng.Float64(); {
	case r < 0.40:
		ua := userAgents[w.rng.IntN(len(userAgents))]
		s.context = json.RawMessage(`{"channel":"web","userAgent":` + strconv.Quote(ua) + `}`)
	case r < 0.50:
		s.context = json.RawMessage(`{"channel":"mobile","mobilePlatform":{"deviceType":"phone","platformType":"ios"},"application":{"id":"com.example.shop","version":"7.3.1"}}`)
	}
	if w.rng.IntN(4) == 0 {
		s.propertyToken = testbed.RandomUUID(w.rng)
	}
	return s
}

// PageView returns the events of one page view of a random session, all stamped nowMs.
func (w *Workload) PageView(nowMs int64) []Message {
	si := w.rng.IntN(len(w.sessions))
	n := 1 + w.rng.IntN(4) // displays
	if w.rng.IntN(100) == 0 {
		n = 20 + w.rng.IntN(61) // a product grid
	}
	out := make([]Message, 0, n+1)
	for range n {
		out = append(out, w.event(&w.sessions[si], int32(si), notify.TypeDisplay, nowMs))
	}
	if w.rng.Float64() < 0.3 {
		out = append(out, w.event(&w.sessions[si], int32(si), notify.TypeClick, nowMs))
	}
	return out
}

// OwnSession returns one event of a session of its own (a new session every call, not one
// of the workload's): for measuring memory per open session.
func (w *Workload) OwnSession(nowMs int64) Message {
	s := w.newSession(w.seq)
	return w.event(&s, int32(w.seq), notify.TypeDisplay, nowMs)
}

// event renders one event of s, padded with a parameter to a size drawn from
// [MinEventBytes, MaxEventBytes].
func (w *Workload) event(s *session, si int32, typ string, nowMs int64) Message {
	ev := notify.Event{
		Type: typ, Timestamp: nowMs, SessionID: s.id,
		TntID: s.tntID, ThirdPartyID: s.thirdPartyID, MarketingCloudVisitorID: s.mcid,
		CustomerIDs: s.customerIDs, PropertyToken: s.propertyToken, Context: s.context,
		ID:      w.prefix + strconv.Itoa(w.seq),
		Tokens:  []string{testbed.RandomToken(w.rng, 24+w.rng.IntN(16))},
		Address: &notify.Address{URL: "https://shop.example.com" + pages[w.rng.IntN(len(pages))]},
		Parameters: map[string]string{
			"entity.categoryId": viewNames[w.rng.IntN(len(viewNames))],
			"recs.context":      "", // padding to the drawn size; sorts after entity.categoryId
		},
	}
	w.seq++
	if w.rng.IntN(3) == 0 {
		ev.View = &notify.View{Name: viewNames[w.rng.IntN(len(viewNames))], State: testbed.RandomToken(w.rng, 24+w.rng.IntN(24))}
	} else {
		ev.Mbox = &notify.Mbox{Name: mboxNames[w.rng.IntN(len(mboxNames))], State: testbed.RandomToken(w.rng, 24+w.rng.IntN(24))}
	}
	if typ == notify.TypeDisplay && w.rng.IntN(4) == 0 {
		ev.Tokens = append(ev.Tokens, testbed.RandomToken(w.rng, 24+w.rng.IntN(16)))
	}
	value, err := json.Marshal(&ev)
	if err != nil {
		panic(err) // every field is a plain value: cannot fail
	}
	if len(value) > MaxEventBytes { // the largest identities with two tokens: drop the extras
		ev.Tokens, ev.Parameters, ev.Address = ev.Tokens[:1], nil, nil
		if value, err = json.Marshal(&ev); err != nil {
			panic(err)
		}
	}
	target := MinEventBytes + w.rng.IntN(MaxEventBytes-MinEventBytes+1)
	placeholder := []byte(`,"recs.context":""`)
	if fill := target - len(value); fill > 0 {
		start := w.rng.IntN(len(w.pad) - fill)
		padded := append(append([]byte(`,"recs.context":"`), w.pad[start:start+fill]...), '"')
		value = bytes.Replace(value, placeholder, padded, 1)
	} else if len(value)-len(placeholder) >= MinEventBytes {
		value = bytes.Replace(value, placeholder, nil, 1)
	}
	return Message{Key: []byte(s.id), Value: value, Stamp: Stamp{Session: si, TS: nowMs}}
}
