package demo

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
)

// page is a page of the demo shop: the SPA view it renders, if any, and the mboxes on it.
type page struct {
	url    string
	view   string
	mboxes []string
}

// shop is the site the visitors browse.
func shop() []page {
	const base = "https://shop.example.com"
	return []page{
		{url: base + "/", view: "home", mboxes: []string{"hero-banner", "homepage-recs"}},
		{url: base + "/c/running", view: "category", mboxes: []string{"category-banner"}},
		{url: base + "/p/trail-shoe-42", view: "product-detail", mboxes: []string{"product-recs", "cross-sell"}},
		{url: base + "/search?q=rain+jacket", mboxes: []string{"search-recs"}},
		{url: base + "/cart", view: "cart", mboxes: []string{"cart-upsell"}},
		{url: base + "/checkout", mboxes: []string{"checkout-offer", "shipping-promo"}},
	}
}

// locationHints are the edge clusters found in the visitors' tntIds (mboxedge31, 34, ...).
func locationHints() []string { return []string{"31", "34", "35", "38"} }

// visitor is one browser or app: a Target session and a visitor id that stay fixed, and a
// clock that moves forward as they browse.
type visitor struct {
	sessionID string
	identity  notify.Event // only the identity fields: sessionId, visitor ids, targetCookie
	clock     int64        // ms since epoch of the visitor's next page view
	until     int64        // the generator's now: a busy visitor's clock stops there
	pageViews int
}

// newVisitor draws a visitor: most have a tntId, most of those with a location hint; some
// are known by thirdPartyId and customerIds, some by marketingCloudVisitorId, and a few only
// by the raw mbox cookie their browser sent.
func newVisitor(rng *rand.Rand, n int, start int64, now time.Time) *visitor {
	nowSec := now.Unix()
	v := &visitor{sessionID: hex32(rng), clock: start, until: now.UnixMilli()}
	id := &v.identity
	id.SessionID = v.sessionID
	switch r := rng.Float64(); {
	case r < 0.55:
		hints := locationHints()
		id.TntID = uuid(rng) + "." + hints[rng.IntN(len(hints))] + "_0"
	case r < 0.70:
		id.TntID = uuid(rng)
	case r < 0.85:
		id.ThirdPartyID = fmt.Sprintf("crm-%06d", n)
		id.CustomerIDs = []notify.CustomerID{{ID: fmt.Sprintf("%08d", rng.IntN(1e8)), IntegrationCode: "loyalty", AuthenticatedState: "authenticated"}}
	case r < 0.95:
		id.MarketingCloudVisitorID = mcid(rng)
	default:
		// session and PC entries as the mbox cookie carries them, valid for 30 min and 2 years.
		id.SessionID = ""
		id.TargetCookie = "session#" + v.sessionID + "#" + strconv.FormatInt(nowSec+1800, 10) +
			"|PC#" + uuid(rng) + ".35_0#" + strconv.FormatInt(nowSec+2*365*86400, 10)
	}
	return v
}

// pageView is what the visitor sees on their next page: a display per mbox (and for the view,
// and now and then the page-load content), then clicks on some of them, each with its own
// event token as the prefetch response hands them out.
func (v *visitor) pageView(rng *rand.Rand, pages []page) []notify.Event {
	p := pages[rng.IntN(len(pages))]
	at := v.clock
	newEvent := func(typ string) notify.Event {
		ev := v.identity
		ev.Type = typ
		ev.Timestamp = min(at, v.until)
		ev.Tokens = []string{token(rng)}
		ev.Address = &notify.Address{URL: p.url}
		return ev
	}
	var displays []notify.Event
	if v.pageViews == 0 && rng.IntN(4) == 0 {
		ev := newEvent(notify.TypeDisplay)
		ev.PageLoad = &notify.PageLoad{State: token(rng)}
		displays = append(displays, ev)
	}
	if p.view != "" {
		ev := newEvent(notify.TypeDisplay)
		ev.View = &notify.View{Name: p.view, State: token(rng)}
		displays = append(displays, ev)
	}
	for _, name := range p.mboxes {
		at += int64(rng.IntN(150))
		ev := newEvent(notify.TypeDisplay)
		ev.Mbox = &notify.Mbox{Name: name, State: token(rng)}
		displays = append(displays, ev)
	}
	events := displays
	for _, d := range displays {
		if d.PageLoad != nil || rng.Float64() >= 0.35 {
			continue
		}
		at += 1000 + int64(rng.IntN(15_000))
		ev := newEvent(notify.TypeClick)
		ev.Mbox, ev.View = d.Mbox, d.View
		events = append(events, ev)
	}
	v.pageViews++
	v.clock = min(at+5_000+int64(rng.IntN(40_000)), v.until)
	return events
}

// token is an opaque event token like the base64 ones a prefetch response carries.
func token(rng *rand.Rand) string {
	var b [24]byte
	fill(rng, b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func uuid(rng *rand.Rand) string {
	var b [16]byte
	fill(rng, b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func hex32(rng *rand.Rand) string {
	var b [16]byte
	fill(rng, b[:])
	return fmt.Sprintf("%x", b)
}

// mcid is an Experience Cloud visitor id: 38 digits.
func mcid(rng *rand.Rand) string {
	return fmt.Sprintf("%019d%019d", rng.Uint64N(1e19), rng.Uint64N(1e19))
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
}
