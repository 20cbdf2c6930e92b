package notify_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
)

// FuzzParseTargetCookie holds ParseTargetCookie (and LocationHintFromTntID on what it
// returns) to properties that must hold for any input, however mangled:
//   - it never panics and is deterministic;
//   - what it returns comes from a single entry of the cookie: a non-empty value without
//     '|' or '#', that occurs in the raw cookie;
//   - an entry it builds itself from the fuzzed session and PC values is read back when
//     live, and ignored when expired, also after the mangled cookie (later entries win);
//   - a location hint is alphanumeric and sits in the tntId as ".<hint>_<digits>".
//
// go test -run '^$' -fuzz '^FuzzParseTargetCookie$' -fuzztime 10s ./pkg/notify
func FuzzParseTargetCookie(f *testing.F) {
	const now = 1764331200 // 2025-11-28T12:00:00Z
	f.Add("session#f8b6c1b2-4f4a-4b8a-9a53-0d5f3f0b6e21#1764333060|PC#338e3c1e51f7416a8e1ccba4f81acea0.35_0#1827576060", "s1", "t1.35_0", int64(now), int64(1800))
	f.Add("", "a", "b", int64(now), int64(-1))
	f.Add("|||###", "x", "y", int64(0), int64(1))
	f.Add("session##1764333060|PC#abc#", "sess", "pc", int64(now), int64(60))
	f.Add("session#x#notanumber|PC#y#99999999999999999999999", "s", "p", int64(now), int64(0))
	f.Add("session#a#b#c|PC#d#-1|session#late#1764333060", "s", "p.21_27", int64(now), int64(100))
	f.Add("check#true#1764331260|session#é#1764333060", "ünïcode", "pc", int64(now), int64(5))
	f.Add("session#s#+1764333060|PC#p# 1764333060", "s", "p", int64(-1), int64(1<<40))
	f.Fuzz(func(t *testing.T, raw, session, pc string, nowSec, ttl int64) {
		// Keep the clock where time.Unix and the cookie's seconds cannot overflow.
		nowSec %= 1 << 40
		ttl %= 1 << 40
		at := time.Unix(nowSec, 0)

		got := notify.ParseTargetCookie(raw, at)
		if again := notify.ParseTargetCookie(raw, at); again != got {
			t.Fatalf("not deterministic: %+v then %+v", got, again)
		}
		for name, v := range map[string]string{"session": got.SessionID, "PC": got.TntID} {
			if v == "" {
				continue
			}
			if strings.ContainsAny(v, "|#") || !strings.Contains(raw, name+"#"+v+"#") {
				t.Fatalf("%s value %q does not come from one entry of %q", name, v, raw)
			}
		}
		checkHint(t, got.TntID)

		// An entry built here is read back when live and ignored when expired, whatever
		// came before it.
		session, pc = clean(session), clean(pc)
		if session == "" || pc == "" {
			return
		}
		expires := nowSec + ttl
		built := "session#" + session + "#" + strconv.FormatInt(expires, 10) + "|PC#" + pc + "#" + strconv.FormatInt(expires, 10)
		for _, cookie := range []string{built, raw + "|" + built} {
			c := notify.ParseTargetCookie(cookie, at)
			if ttl > 0 && (c.SessionID != session || c.TntID != pc) {
				t.Fatalf("live entries of %q read as %+v, want session %q PC %q", cookie, c, session, pc)
			}
			if ttl <= 0 && cookie == built && (c.SessionID != "" || c.TntID != "") {
				t.Fatalf("expired entries of %q read as %+v", cookie, c)
			}
		}
		checkHint(t, pc)
	})
}

// clean makes a fuzzed string usable as a cookie value: no separators.
func clean(s string) string {
	return strings.NewReplacer("|", "", "#", "").Replace(s)
}

func checkHint(t *testing.T, tntID string) {
	t.Helper()
	hint := notify.LocationHintFromTntID(tntID)
	if hint == "" {
		return
	}
	for _, c := range hint {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			t.Fatalf("hint %q of %q is not alphanumeric", hint, tntID)
		}
	}
	i := strings.LastIndex(tntID, "."+hint+"_")
	if i < 0 {
		t.Fatalf("hint %q not found as .<hint>_ in %q", hint, tntID)
	}
	node := tntID[i+len(hint)+2:]
	if node == "" || strings.Trim(node, "0123456789") != "" {
		t.Fatalf("hint %q of %q is not followed by _<digits> (%q)", hint, tntID, node)
	}
}
