package notify_test

import (
	"testing"
	"time"

	"github.com/notifierd/notifierd/pkg/notify"
)

func TestIdentity(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	live := "session#s-cookie#1800000600|PC#tnt-cookie.35_0#1800000600"
	for _, tc := range []struct {
		name string
		ev   notify.Event
		want notify.Identity
	}{
		{"explicit only", notify.Event{SessionID: "s", TntID: "t"}, notify.Identity{SessionID: "s", TntID: "t"}},
		{"cookie only", notify.Event{TargetCookie: live}, notify.Identity{SessionID: "s-cookie", TntID: "tnt-cookie.35_0"}},
		{"explicit session, cookie visitor", notify.Event{SessionID: "s", TargetCookie: live}, notify.Identity{SessionID: "s", TntID: "tnt-cookie.35_0"}},
		{"a thirdPartyId keeps the cookie's PC out", notify.Event{ThirdPartyID: "3p", TargetCookie: live}, notify.Identity{SessionID: "s-cookie", ThirdPartyID: "3p"}},
		{"an MCID keeps the cookie's PC out", notify.Event{MarketingCloudVisitorID: "m", TargetCookie: live}, notify.Identity{SessionID: "s-cookie", MCID: "m"}},
		{"expired entries count for nothing", notify.Event{TargetCookie: "session#s#1799999999|PC#p#1799999999"}, notify.Identity{}},
	} {
		if got := tc.ev.Identity(now); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
