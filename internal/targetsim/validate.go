package targetsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// delivery is a request that passed validation: what the 200 and the records need.
type delivery struct {
	top       fields // the request object, members raw
	sessionID string
	visitor   string          // the one tntId / thirdPartyId / marketingCloudVisitorId
	idRaw     json.RawMessage // the id object, echoed in the response
	requestID string          // the caller's requestId, echoed when given
	notes     []note
}

// note is one validated notification.
type note struct {
	id, typ, impressionID string
	timestamp             int64
	tokens                []string
	raw                   json.RawMessage
}

const visitorIDs = "tntId, thirdPartyId or marketingCloudVisitorId"

// validate checks a delivery request the way Target does: the first problem
// rejects the whole request, naming the field. Bad tokens (a fault) are checked
// last, after the request is otherwise known good.
func validate(r *http.Request, q url.Values, body []byte, tooBig bool, maxNotifications int, f Faults) (*delivery, *rejection) {
	sid, rej := checkSessionID(q)
	if rej != nil {
		return nil, rej
	}
	if tooBig {
		return nil, &rejection{status: http.StatusRequestEntityTooLarge, message: "body: larger than the request size limit"}
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		return nil, invalid("Content-Type", "must be application/json, got %q", ct)
	}
	if jsonKind(body) != "an object" {
		return nil, invalid("body", "must be a JSON object, got %s", jsonKind(body))
	}
	m, err := splitObject(body)
	if err != nil {
		return nil, invalid("body", "invalid JSON: %v", err)
	}
	d := &delivery{top: fields{m: m}, sessionID: sid}
	if rej := checkContext(d.top); rej != nil {
		return nil, rej
	}
	if d.visitor, rej = checkVisitor(d.top); rej != nil {
		return nil, rej
	}
	d.idRaw = m["id"]
	if rej := checkEnvelope(d.top); rej != nil {
		return nil, rej
	}
	d.requestID, _, _ = d.top.str("requestId", false, 0, 0)
	if d.notes, rej = checkNotifications(d.top, maxNotifications); rej != nil {
		return nil, rej
	}
	for i, n := range d.notes {
		for j, tok := range n.tokens {
			if f.badToken(tok) {
				return nil, invalid(fmt.Sprintf("notifications[%d].tokens[%d]", i, j), "invalid token %q", tok)
			}
		}
	}
	return d, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// checkSessionID applies the spec's rule: 1-128 printable characters except
// space, '?' and '/' (url.Values are already decoded).
func checkSessionID(q url.Values) (string, *rejection) {
	sid := q.Get("sessionId")
	switch {
	case sid == "":
		return "", invalid("sessionId", "required query parameter (1-128 printable characters)")
	case len(sid) > 128:
		return "", invalid("sessionId", "must be at most 128 characters, got %d", len(sid))
	}
	for i := 0; i < len(sid); i++ {
		if c := sid[i]; c <= ' ' || c > '~' || c == '?' || c == '/' {
			return "", invalid("sessionId", "character %q at offset %d not allowed (printable ASCII except space, '?' and '/')", c, i)
		}
	}
	return sid, nil
}

func checkContext(top fields) *rejection {
	c, _, rej := top.object("context", true)
	if rej != nil {
		return rej
	}
	if rej := c.check(reqEnum("channel", "web", "mobile")); rej != nil {
		return rej
	}
	beacon, _, rej := c.boolean("beacon")
	if rej != nil {
		return rej
	}
	if beacon {
		// Target answers a beacon request 204 with no body: the notifications
		// would go unacknowledged, so a sender must never set it.
		return invalid("context.beacon", "beacon is not allowed for notifications: Target answers 204 without per-id acknowledgements")
	}
	if rej := c.check(optString("userAgent", 0, 0), optNumber("timeOffsetInMinutes")); rej != nil {
		return rej
	}
	if rej := checkAddress(c); rej != nil {
		return rej
	}
	subs := []struct {
		name    string
		members []member
	}{
		{"screen", []member{optNumber("width"), optNumber("height"), optNumber("colorDepth"), optNumber("pixelRatio"), optEnum("orientation", "portrait", "landscape")}},
		{"window", []member{optNumber("width"), optNumber("height")}},
		{"browser", []member{optString("host", 0, 0), optString("language", 0, 0), optString("webGLRenderer", 0, 0)}},
		{"geo", []member{optString("ipAddress", 0, 0), optNumber("latitude"), optNumber("longitude"), optString("countryCode", 2, 2), optString("stateCode", 1, 3), optString("city", 0, 50), optString("zip", 0, 12)}},
		{"mobilePlatform", []member{reqEnum("deviceType", "phone", "tablet"), reqEnum("platformType", "android", "ios"), optString("deviceName", 0, 0), optString("version", 0, 128)}},
		{"application", []member{optString("id", 0, 250), optString("name", 0, 250), optString("version", 0, 128)}},
		{"clientHints", []member{optBoolean("mobile"), optString("model", 0, 0), optString("platform", 0, 0), optString("platformVersion", 0, 0), optString("browserUAWithMajorVersion", 0, 0), optString("browserUAWithFullVersion", 0, 0), optString("architecture", 0, 0), optString("bitness", 0, 0)}},
	}
	for _, s := range subs {
		if rej := c.sub(s.name, s.members...); rej != nil {
			return rej
		}
	}
	if geo, ok, _ := c.object("geo", false); ok {
		if ip, ok, _ := geo.str("ipAddress", false, 0, 0); ok {
			if _, err := netip.ParseAddr(strings.TrimSpace(ip)); err != nil {
				return invalid(geo.at("ipAddress"), "must be an IPv4 or IPv6 address, got %q", ip)
			}
		}
	}
	return nil
}

// checkVisitor requires at least one visitor id. The spec lets the object be
// absent (Target then mints a tntId), but a notification without a known visitor
// cannot be attributed, so that is a sender bug worth a 400. Several ids are
// allowed: Adobe's SDKs send tntId and marketingCloudVisitorId together.
func checkVisitor(top fields) (string, *rejection) {
	if !top.has("id") {
		return "", invalid("id", "required, with at least one of %s", visitorIDs)
	}
	id, _, rej := top.object("id", true)
	if rej != nil {
		return "", rej
	}
	var present []string
	var visitor string
	for _, k := range []string{"tntId", "thirdPartyId", "marketingCloudVisitorId"} {
		v, ok, rej := id.str(k, false, 1, 128)
		if rej != nil {
			return "", rej
		}
		if ok {
			present = append(present, k)
			if visitor == "" {
				visitor = v // the first present, in the order Target prefers them
			}
		}
	}
	if len(present) == 0 {
		return "", invalid("id", "at least one of %s is required, got none", visitorIDs)
	}
	if present[0] == "tntId" {
		if rej := checkTntID(visitor); rej != nil {
			return "", rej
		}
	}
	cids, _, rej := id.array("customerIds", false)
	if rej != nil {
		return "", rej
	}
	if len(cids) > 50 {
		return "", invalid("id.customerIds", "%d customer ids, at most 50 allowed", len(cids))
	}
	for i, raw := range cids {
		c, rej := asObject(raw, fmt.Sprintf("id.customerIds[%d]", i))
		if rej != nil {
			return "", rej
		}
		// authenticatedState is required by Adobe's CustomerId schema.
		if rej := c.check(reqString("id", 1, 128), reqString("integrationCode", 1, 50),
			reqEnum("authenticatedState", "unknown", "authenticated", "logged_out")); rej != nil {
			return "", rej
		}
	}
	return visitor, nil
}

// checkTntID applies the spec's rule that a '.' may only delimit the profile
// location hint (<id>.<hint>_<node>), which senders parse for edge routing.
func checkTntID(v string) *rejection {
	base, hint, ok := strings.Cut(v, ".")
	if !ok {
		return nil
	}
	num, node, hasNode := strings.Cut(hint, "_")
	if base == "" || !isDigits(num) || (hasNode && !isDigits(node)) {
		return invalid("id.tntId", "a '.' may only delimit the location hint (<id>.<hint>_<node>), got %q", v)
	}
	return nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// checkEnvelope checks the request members other than context, id and
// notifications. execute and prefetch are allowed and ignored.
func checkEnvelope(top fields) *rejection {
	if rej := top.check(optString("requestId", 0, 128), optString("impressionId", 0, 128), optInteger("environmentId"),
		optObject("execute"), optObject("prefetch"), optObject("qaMode"), optObject("preview")); rej != nil {
		return rej
	}
	if rej := top.sub("telemetry", optArray("entries")); rej != nil {
		return rej
	}
	if rej := top.sub("property", reqString("token", 0, 0)); rej != nil {
		return rej
	}
	if rej := top.sub("trace", reqString("authorizationToken", 0, 0), optObject("usage")); rej != nil {
		return rej
	}
	if tr, ok, _ := top.object("trace", false); ok {
		if rej := checkStringMap(tr, "usage", 0, 0, 0, false); rej != nil {
			return rej
		}
	}
	ec, ok, rej := top.object("experienceCloud", false)
	if rej != nil || !ok {
		return rej
	}
	if rej := ec.sub("audienceManager", optInteger("locationHint"), optString("blob", 1, 1024)); rej != nil {
		return rej
	}
	if am, ok, _ := ec.object("audienceManager", false); ok {
		if h, ok, _ := am.integer("locationHint", false); ok && h < 1 {
			return invalid(am.at("locationHint"), "must be at least 1, got %d", h)
		}
	}
	a, ok, rej := ec.object("analytics", false)
	if rej != nil || !ok {
		return rej
	}
	if rej := a.check(optString("supplementalDataId", 33, 33), optEnum("logging", "server_side", "client_side"),
		optString("trackingServer", 0, 0), optString("trackingServerSecure", 0, 0)); rej != nil {
		return rej
	}
	if sd, ok, _ := a.str("supplementalDataId", false, 0, 0); ok && !isSupplementalDataID(sd) {
		return invalid(a.at("supplementalDataId"), "must be <16 hex digits>-<16 hex digits>, got %q", sd)
	}
	for _, k := range []string{"trackingServer", "trackingServerSecure"} {
		if v, _, _ := a.str(k, false, 0, 0); strings.Contains(v, "://") {
			return invalid(a.at(k), "must be a host name without a scheme, got %q", v)
		}
	}
	return nil
}

func isSupplementalDataID(s string) bool {
	hi, lo, ok := strings.Cut(s, "-")
	return ok && len(hi) == 16 && len(lo) == 16 && isHex(hi) && isHex(lo)
}

func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdefABCDEF") == ""
}

func checkNotifications(top fields, maxN int) ([]note, *rejection) {
	// Optional in the spec, but this endpoint is only used for notifications:
	// a request without any is a sender bug.
	a, _, rej := top.array("notifications", false)
	if rej != nil {
		return nil, rej
	}
	if len(a) == 0 {
		return nil, invalid("notifications", "required, non-empty")
	}
	if len(a) > maxN {
		return nil, invalid("notifications", "%d notifications in one request, at most %d allowed", len(a), maxN)
	}
	notes := make([]note, len(a))
	seen := make(map[string]int, len(a))
	for i, raw := range a {
		path := fmt.Sprintf("notifications[%d]", i)
		n, rej := checkNotification(raw, path)
		if rej != nil {
			return nil, rej
		}
		if j, dup := seen[n.id]; dup {
			return nil, invalid(path+".id", "duplicate id %q (also notifications[%d])", n.id, j)
		}
		seen[n.id] = i
		notes[i] = n
	}
	return notes, nil
}

func checkNotification(raw json.RawMessage, path string) (note, *rejection) {
	n, rej := asObject(raw, path)
	if rej != nil {
		return note{}, rej
	}
	var out note
	if out.id, _, rej = n.str("id", true, 1, 200); rej != nil {
		return note{}, rej
	}
	if out.typ, _, rej = n.enum("type", true, "display", "click"); rej != nil {
		return note{}, rej
	}
	if out.timestamp, _, rej = n.integer("timestamp", true); rej != nil {
		return note{}, rej
	}
	if out.timestamp <= 0 {
		return note{}, invalid(n.at("timestamp"), "must be milliseconds since the epoch (> 0), got %d", out.timestamp)
	}
	// Optional in the spec, but a notification without event tokens cannot be
	// attributed to any activity, and Target validates every token it gets.
	tokens, _, rej := n.array("tokens", false)
	if rej != nil {
		return note{}, rej
	}
	if len(tokens) == 0 {
		return note{}, invalid(n.at("tokens"), "required, non-empty")
	}
	if out.tokens, _, rej = n.stringList("tokens", 1, 0); rej != nil {
		return note{}, rej
	}
	if out.impressionID, _, rej = n.str("impressionId", false, 0, 128); rej != nil {
		return note{}, rej
	}
	if rej := n.check(optString("$_type", 0, 0)); rej != nil {
		return note{}, rej
	}
	if rej := checkScope(n); rej != nil {
		return note{}, rej
	}
	if rej := checkDetails(n); rej != nil {
		return note{}, rej
	}
	out.raw = raw
	return out, nil
}

// mboxNameReserved reports names Target reserves (spec, NotificationMbox).
func mboxNameReserved(name string) bool {
	switch name {
	case "display mboxes", "any mbox", "click from display mbox":
		return true
	}
	return strings.HasSuffix(name, "-clicked")
}

// checkScope requires exactly one of mbox, view and pageLoad: the spec says
// they are mutually exclusive, and a notification for nothing counts nowhere.
func checkScope(n fields) *rejection {
	var present []string
	for _, k := range []string{"mbox", "view", "pageLoad"} {
		if n.has(k) {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		return invalid(n.path, "exactly one of mbox, view or pageLoad is required, got none")
	case 1:
	default:
		return invalid(n.path, "exactly one of mbox, view or pageLoad is allowed, got %s", strings.Join(present, " and "))
	}
	switch present[0] {
	case "mbox":
		mb, _, rej := n.object("mbox", true)
		if rej != nil {
			return rej
		}
		if rej := mb.check(reqString("name", 1, 250), optString("state", 0, 0)); rej != nil {
			return rej
		}
		if name, _, _ := mb.str("name", true, 0, 0); mboxNameReserved(name) {
			return invalid(mb.at("name"), "%q is reserved by Target (no '-clicked' suffix, 'display mboxes', 'any mbox' or 'click from display mbox')", name)
		}
		return nil
	case "view":
		return n.sub("view", optString("name", 0, 128), optString("key", 0, 512), optString("state", 0, 0))
	default:
		if _, _, rej := n.object("pageLoad", true); rej != nil {
			return rej
		}
		return n.sub("pageLoad", optString("state", 0, 0))
	}
}

// checkDetails checks the RequestDetails members a notification may carry.
func checkDetails(n fields) *rejection {
	if rej := checkAddress(n); rej != nil {
		return rej
	}
	if rej := checkStringMap(n, "parameters", 50, 128, 5000, true); rej != nil {
		return rej
	}
	if rej := checkStringMap(n, "profileParameters", 50, 128, 5000, false); rej != nil {
		return rej
	}
	if rej := n.sub("product", optString("id", 1, 128), optString("categoryId", 1, 128)); rej != nil {
		return rej
	}
	return checkOrder(n)
}

func checkAddress(f fields) *rejection {
	return f.sub("address", optString("url", 0, 4096), optString("referringUrl", 0, 4096))
}

// checkStringMap checks a parameters-like map of string values; zero limits
// are unbounded. Names are checked in sorted order so the error is stable.
func checkStringMap(f fields, name string, maxEntries, maxName, maxValue int, mboxParams bool) *rejection {
	p, ok, rej := f.object(name, false)
	if rej != nil || !ok {
		return rej
	}
	if maxEntries > 0 && len(p.m) > maxEntries {
		return invalid(p.path, "%d entries, at most %d allowed", len(p.m), maxEntries)
	}
	names := slices.Sorted(maps.Keys(p.m))
	for _, k := range names {
		path := p.at(k)
		switch {
		case maxName == 0:
		case strings.TrimSpace(k) == "":
			return invalid(p.path, "parameter names must not be blank")
		case len([]rune(k)) > maxName:
			return invalid(path, "name must be at most %d characters", maxName)
		case strings.HasPrefix(k, "profile."):
			return invalid(path, "name must not start with \"profile.\"")
		case mboxParams && (k == "orderId" || k == "orderTotal" || k == "productPurchasedIds"):
			return invalid(path, "not allowed as an mbox parameter (use order)")
		}
		if _, rej := asString(p.m[k], path, 0, maxValue); rej != nil {
			return rej
		}
	}
	return nil
}

func checkOrder(n fields) *rejection {
	o, ok, rej := n.object("order", false)
	if rej != nil || !ok {
		return rej
	}
	if rej := o.check(optString("id", 0, 250), optNumber("total"), optString("time", 0, 0),
		optInteger("experienceLocalId"), optBoolean("duplicate"), optBoolean("outlier")); rej != nil {
		return rej
	}
	if t, ok, _ := o.number("total"); ok && t < 0 {
		return invalid(o.at("total"), "must not be negative")
	}
	if v, ok, _ := o.integer("experienceLocalId", false); ok && (v < 0 || v > 2147483647) {
		return invalid(o.at("experienceLocalId"), "must be in [0, 2147483647], got %d", v)
	}
	if ts, ok, _ := o.str("time", false, 0, 0); ok {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			return invalid(o.at("time"), "must be an ISO 8601 date-time, got %q", ts)
		}
	}
	ids, _, rej := o.stringList("purchasedProductIds", 1, 50)
	if rej != nil {
		return rej
	}
	if joined := strings.Join(ids, ","); len([]rune(joined)) > 250 {
		return invalid(o.at("purchasedProductIds"), "joined by commas, must be at most 250 characters")
	}
	return nil
}
