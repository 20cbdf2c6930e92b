package notify

import (
	"strconv"
	"strings"
	"time"
)

// TargetCookie is what notifierd reads from a raw mbox cookie value.
type TargetCookie struct {
	SessionID string // the `session` entry
	TntID     string // the `PC` entry
}

// Identity is the session and visitor a request for an event is sent with, once its
// targetCookie is read: sessionId, else the cookie's live session entry; the event's visitor
// ids, else the cookie's live PC entry as tntId. Validate, the daemon, the publisher's
// message key and the dead-letter tools all resolve an event through it.
type Identity struct {
	SessionID    string
	TntID        string
	ThirdPartyID string
	MCID         string // marketingCloudVisitorId
}

// Identity resolves e's session and visitor at now (cookie entries expire).
func (e *Event) Identity(now time.Time) Identity {
	id := Identity{SessionID: e.SessionID, TntID: e.TntID, ThirdPartyID: e.ThirdPartyID, MCID: e.MarketingCloudVisitorID}
	if e.TargetCookie == "" || id.SessionID != "" && (id.TntID != "" || id.ThirdPartyID != "" || id.MCID != "") {
		return id // nothing the cookie could add
	}
	cookie := ParseTargetCookie(e.TargetCookie, now)
	if id.SessionID == "" {
		id.SessionID = cookie.SessionID
	}
	if id.TntID == "" && id.ThirdPartyID == "" && id.MCID == "" {
		id.TntID = cookie.TntID
	}
	return id
}

// ParseTargetCookie reads an mbox cookie value the way Adobe's SDKs do: `|`-separated
// `name#value#expiresEpochSeconds` entries, of which `session` and `PC` matter here.
// Entries that are expired at now, or malformed, are ignored rather than rejected,
// because browsers hand over stale cookies all the time.
func ParseTargetCookie(raw string, now time.Time) TargetCookie {
	var c TargetCookie
	nowSec := now.Unix()
	for entry := range strings.SplitSeq(raw, "|") {
		name, rest, ok := strings.Cut(entry, "#")
		if !ok {
			continue
		}
		value, expires, ok := strings.Cut(rest, "#")
		if !ok || value == "" {
			continue
		}
		exp, err := strconv.ParseInt(expires, 10, 64)
		if err != nil || exp <= nowSec {
			continue
		}
		switch name {
		case "session":
			c.SessionID = value
		case "PC":
			c.TntID = value
		}
	}
	return c
}

// LocationHintFromTntID returns the edge cluster hint carried in a tntId of the form
// `<uuid>.<hint>_<node>` (for example `...96.21_27` gives `21`), or "" when there is none.
func LocationHintFromTntID(tntID string) string {
	dot := strings.LastIndexByte(tntID, '.')
	if dot < 0 {
		return ""
	}
	hint, node, ok := strings.Cut(tntID[dot+1:], "_")
	if !ok || !isAlnum(hint) || !isDigits(node) {
		return ""
	}
	return hint
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
