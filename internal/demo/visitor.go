package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/notifierd/notifierd/internal/testbed"
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
	v := &visitor{sessionID: testbed.RandomHex(rng, 16), clock: start, until: now.UnixMilli()}
	id := &v.identity
	id.SessionID = v.sessionID
	switch r := rng.Float64(); {
	case r < 0.55:
		hints := testbed.LocationHints
		id.TntID = testbed.RandomUUID(rng) + "." + hints[rng.IntN(len(hints))] + "_0"
	case r < 0.70:
		id.TntID = testbed.RandomUUID(rng)
	case r < 0.85:
		id.ThirdPartyID = fmt.Sprintf("crm-%06d", n)
		id.CustomerIDs = []notify.CustomerID{{ID: fmt.Sprintf("%08d", rng.IntN(1e8)), IntegrationCode: "loyalty", AuthenticatedState: "authenticated"}}
	case r < 0.95:
		id.MarketingCloudVisitorID = testbed.RandomMCID(rng)
	default:
		// session and PC entries as the mbox cookie carries them, valid for 30 min and 2 years.
		id.SessionID = ""
		id.TargetCookie = "session#" + v.sessionID + "#" + strconv.FormatInt(nowSec+1800, 10) +
			"|PC#" + testbed.RandomUUID(rng) + ".35_0#" + strconv.FormatInt(nowSec+2*365*86400, 10)
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
		ev.Tokens = []string{testbed.RandomToken(rng, 24)}
		ev.Address = &notify.Address{URL: p.url}
		return ev
	}
	var displays []notify.Event
	if v.pageViews == 0 && rng.IntN(4) == 0 {
		ev := newEvent(notify.TypeDisplay)
		ev.PageLoad = &notify.PageLoad{State: testbed.RandomToken(rng, 24)}
		displays = append(displays, ev)
	}
	if p.view != "" {
		ev := newEvent(notify.TypeDisplay)
		ev.View = &notify.View{Name: p.view, State: testbed.RandomToken(rng, 24)}
		displays = append(displays, ev)
	}
	for _, name := range p.mboxes {
		at += int64(rng.IntN(150))
		ev := newEvent(notify.TypeDisplay)
		ev.Mbox = &notify.Mbox{Name: name, State: testbed.RandomToken(rng, 24)}
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
