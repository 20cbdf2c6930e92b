package targetsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const deliveryURL = "/rest/v1/delivery?sessionId=s1&imsOrgId=org%40AdobeOrg"

// edit returns a valid 5-notification request changed by fn.
func edit(fn func(req obj, notes []obj)) obj {
	notes := notesN(5)
	req := testRequest(notes...)
	fn(req, notes)
	return req
}

func TestValidationRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name    string
		target  string // default deliveryURL
		ctype   string // default application/json
		raw     string // raw body instead of req
		req     obj
		status  int // default 400
		message string
	}{
		{name: "missing sessionId", target: "/rest/v1/delivery?imsOrgId=x", req: testRequest(testNote("a")),
			message: "sessionId: required query parameter"},
		{name: "empty sessionId", target: "/rest/v1/delivery?sessionId=", req: testRequest(testNote("a")),
			message: "sessionId: required query parameter"},
		{name: "sessionId with space", target: "/rest/v1/delivery?sessionId=a%20b", req: testRequest(testNote("a")),
			message: "sessionId: character ' ' at offset 1 not allowed"},
		{name: "sessionId with slash", target: "/rest/v1/delivery?sessionId=a%2Fb", req: testRequest(testNote("a")),
			message: "sessionId: character '/'"},
		{name: "sessionId with question mark", target: "/rest/v1/delivery?sessionId=a%3Fb", req: testRequest(testNote("a")),
			message: "sessionId: character '?'"},
		{name: "sessionId too long", target: "/rest/v1/delivery?sessionId=" + long(129), req: testRequest(testNote("a")),
			message: "sessionId: must be at most 128 characters"},
		{name: "wrong content type", ctype: "text/plain", req: testRequest(testNote("a")),
			message: `Content-Type: must be application/json, got "text/plain"`},
		{name: "body not JSON", raw: `{"context":`, message: "body: invalid JSON"},
		{name: "body not an object", raw: `[1]`, message: "body: must be a JSON object, got an array"},
		{name: "body null", raw: `null`, message: "body: must be a JSON object, got null"},
		{name: "empty body", raw: ``, message: "body: must be a JSON object, got nothing"},
		{name: "missing context", req: edit(func(r obj, _ []obj) { delete(r, "context") }),
			message: "context: required"},
		{name: "missing channel", req: edit(func(r obj, _ []obj) { r["context"] = obj{"userAgent": "x"} }),
			message: "context.channel: required"},
		{name: "bad channel", req: edit(func(r obj, _ []obj) { r["context"] = obj{"channel": "tv"} }),
			message: `context.channel: must be one of "web", "mobile", got "tv"`},
		{name: "beacon request", req: edit(func(r obj, _ []obj) { r["context"] = obj{"channel": "web", "beacon": true} }),
			message: "context.beacon: beacon is not allowed for notifications"},
		{name: "beacon not boolean", req: edit(func(r obj, _ []obj) { r["context"] = obj{"channel": "web", "beacon": "false"} }),
			message: "context.beacon: must be a boolean, got a string"},
		{name: "userAgent not string", req: edit(func(r obj, _ []obj) { r["context"] = obj{"channel": "web", "userAgent": 5} }),
			message: "context.userAgent: must be a string, got a number"},
		{name: "mobilePlatform without deviceType", req: edit(func(r obj, _ []obj) {
			r["context"] = obj{"channel": "mobile", "mobilePlatform": obj{"platformType": "ios"}}
		}), message: "context.mobilePlatform.deviceType: required"},
		{name: "bad geo ip", req: edit(func(r obj, _ []obj) { r["context"] = obj{"channel": "web", "geo": obj{"ipAddress": "1.2.3"}} }),
			message: "context.geo.ipAddress: must be an IPv4 or IPv6 address"},
		{name: "no id object", req: edit(func(r obj, _ []obj) { delete(r, "id") }),
			message: "id: required, with at least one of tntId, thirdPartyId or marketingCloudVisitorId"},
		{name: "id not an object", req: edit(func(r obj, _ []obj) { r["id"] = "abc" }),
			message: "id: must be an object, got a string"},
		{name: "no visitor id", req: edit(func(r obj, _ []obj) { r["id"] = obj{"customerIds": []any{}} }),
			message: "id: at least one of tntId, thirdPartyId or marketingCloudVisitorId is required, got none"},
		{name: "empty tntId", req: edit(func(r obj, _ []obj) { r["id"] = obj{"tntId": ""} }),
			message: "id.tntId: must not be empty"},
		{name: "tntId too long", req: edit(func(r obj, _ []obj) { r["id"] = obj{"tntId": long(129)} }),
			message: "id.tntId: must be at most 128 characters, got 129"},
		{name: "tntId with stray dot", req: edit(func(r obj, _ []obj) { r["id"] = obj{"tntId": "a.b.c"} }),
			message: "id.tntId: a '.' may only delimit the location hint"},
		{name: "thirdPartyId not string", req: edit(func(r obj, _ []obj) { r["id"] = obj{"thirdPartyId": 12} }),
			message: "id.thirdPartyId: must be a string, got a number"},
		{name: "customerId without integrationCode", req: edit(func(r obj, _ []obj) {
			r["id"] = obj{"thirdPartyId": "u1", "customerIds": []any{obj{"id": "c1", "authenticatedState": "unknown"}}}
		}), message: "id.customerIds[0].integrationCode: required"},
		{name: "customerId bad authenticatedState", req: edit(func(r obj, _ []obj) {
			r["id"] = obj{"thirdPartyId": "u1", "customerIds": []any{obj{"id": "c1", "integrationCode": "crm", "authenticatedState": "maybe"}}}
		}), message: `id.customerIds[0].authenticatedState: must be one of "unknown", "authenticated", "logged_out", got "maybe"`},
		{name: "customerId without authenticatedState", req: edit(func(r obj, _ []obj) {
			r["id"] = obj{"thirdPartyId": "u1", "customerIds": []any{obj{"id": "c1", "integrationCode": "crm"}}}
		}), message: "id.customerIds[0].authenticatedState: required"},
		{name: "51 customerIds", req: edit(func(r obj, _ []obj) {
			c := make([]any, 51)
			for i := range c {
				c[i] = obj{"id": fmt.Sprint(i), "integrationCode": "crm", "authenticatedState": "unknown"}
			}
			r["id"] = obj{"thirdPartyId": "u1", "customerIds": c}
		}), message: "id.customerIds: 51 customer ids, at most 50 allowed"},
		{name: "property without token", req: edit(func(r obj, _ []obj) { r["property"] = obj{} }),
			message: "property.token: required"},
		{name: "property token not string", req: edit(func(r obj, _ []obj) { r["property"] = obj{"token": 1} }),
			message: "property.token: must be a string"},
		{name: "bad supplementalDataId", req: edit(func(r obj, _ []obj) {
			r["experienceCloud"] = obj{"analytics": obj{"supplementalDataId": "abc"}}
		}), message: "experienceCloud.analytics.supplementalDataId: must be at least 33 characters"},
		{name: "bad analytics logging", req: edit(func(r obj, _ []obj) {
			r["experienceCloud"] = obj{"analytics": obj{"logging": "both"}}
		}), message: `experienceCloud.analytics.logging: must be one of "server_side", "client_side"`},
		{name: "trackingServer with scheme", req: edit(func(r obj, _ []obj) {
			r["experienceCloud"] = obj{"analytics": obj{"trackingServer": "https://x.sc.omtrdc.net"}}
		}), message: "experienceCloud.analytics.trackingServer: must be a host name without a scheme"},
		{name: "execute not object", req: edit(func(r obj, _ []obj) { r["execute"] = []any{} }),
			message: "execute: must be an object, got an array"},
		{name: "requestId not string", req: edit(func(r obj, _ []obj) { r["requestId"] = 7 }),
			message: "requestId: must be a string"},
		{name: "missing notifications", req: edit(func(r obj, _ []obj) { delete(r, "notifications") }),
			message: "notifications: required, non-empty"},
		{name: "empty notifications", req: edit(func(r obj, _ []obj) { r["notifications"] = []any{} }),
			message: "notifications: required, non-empty"},
		{name: "notifications not array", req: edit(func(r obj, _ []obj) { r["notifications"] = obj{} }),
			message: "notifications: must be an array, got an object"},
		{name: "tokens not array", req: edit(func(_ obj, n []obj) { n[3]["tokens"] = "t" }),
			message: "notifications[3].tokens: must be an array, got a string"},
		{name: "51 notifications", req: testRequest(notesN(51)...),
			message: "notifications: 51 notifications in one request, at most 50 allowed"},
		{name: "notification null", req: edit(func(r obj, _ []obj) { r["notifications"] = []any{nil} }),
			message: "notifications[0]: must be an object, got null"},
		{name: "notification without tokens", req: edit(func(_ obj, n []obj) { delete(n[3], "tokens") }),
			message: "notifications[3].tokens: required, non-empty"},
		{name: "notification with empty tokens", req: edit(func(_ obj, n []obj) { n[3]["tokens"] = []any{} }),
			message: "notifications[3].tokens: required, non-empty"},
		{name: "notification with empty token", req: edit(func(_ obj, n []obj) { n[3]["tokens"] = []any{"t", ""} }),
			message: "notifications[3].tokens[1]: must not be empty"},
		{name: "notification with number token", req: edit(func(_ obj, n []obj) { n[3]["tokens"] = []any{1} }),
			message: "notifications[3].tokens[0]: must be a string, got a number"},
		{name: "notification with both mbox and view", req: edit(func(_ obj, n []obj) { n[2]["view"] = obj{"name": "home"} }),
			message: "notifications[2]: exactly one of mbox, view or pageLoad is allowed, got mbox and view"},
		{name: "notification with neither mbox, view nor pageLoad", req: edit(func(_ obj, n []obj) { delete(n[1], "mbox") }),
			message: "notifications[1]: exactly one of mbox, view or pageLoad is required, got none"},
		{name: "bad type", req: edit(func(_ obj, n []obj) { n[0]["type"] = "view" }),
			message: `notifications[0].type: must be one of "display", "click", got "view"`},
		{name: "missing type", req: edit(func(_ obj, n []obj) { delete(n[0], "type") }),
			message: "notifications[0].type: required"},
		{name: "missing id", req: edit(func(_ obj, n []obj) { delete(n[4], "id") }),
			message: "notifications[4].id: required"},
		{name: "empty id", req: edit(func(_ obj, n []obj) { n[4]["id"] = "" }),
			message: "notifications[4].id: must not be empty"},
		{name: "over-long id", req: edit(func(_ obj, n []obj) { n[4]["id"] = long(201) }),
			message: "notifications[4].id: must be at most 200 characters, got 201"},
		{name: "duplicate id", req: edit(func(_ obj, n []obj) { n[3]["id"] = "n1" }),
			message: `notifications[3].id: duplicate id "n1" (also notifications[1])`},
		{name: "missing timestamp", req: edit(func(_ obj, n []obj) { delete(n[0], "timestamp") }),
			message: "notifications[0].timestamp: required"},
		{name: "fractional timestamp", req: edit(func(_ obj, n []obj) { n[0]["timestamp"] = 1.5 }),
			message: "notifications[0].timestamp: must be an integer, got 1.5"},
		{name: "string timestamp", req: edit(func(_ obj, n []obj) { n[0]["timestamp"] = "1700000000000" }),
			message: "notifications[0].timestamp: must be an integer, got a string"},
		{name: "zero timestamp", req: edit(func(_ obj, n []obj) { n[0]["timestamp"] = 0 }),
			message: "notifications[0].timestamp: must be milliseconds since the epoch (> 0), got 0"},
		{name: "over-long mbox name", req: edit(func(_ obj, n []obj) { n[0]["mbox"] = obj{"name": long(251)} }),
			message: "notifications[0].mbox.name: must be at most 250 characters, got 251"},
		{name: "mbox without name", req: edit(func(_ obj, n []obj) { n[0]["mbox"] = obj{"state": "s"} }),
			message: "notifications[0].mbox.name: required"},
		{name: "reserved mbox name", req: edit(func(_ obj, n []obj) { n[0]["mbox"] = obj{"name": "hero-clicked"} }),
			message: `notifications[0].mbox.name: "hero-clicked" is reserved`},
		{name: "mbox null", req: edit(func(_ obj, n []obj) { n[0]["mbox"] = nil }),
			message: "notifications[0].mbox: must be an object, got null"},
		{name: "over-long view name", req: edit(func(_ obj, n []obj) { delete(n[0], "mbox"); n[0]["view"] = obj{"name": long(129)} }),
			message: "notifications[0].view.name: must be at most 128 characters"},
		{name: "over-long view key", req: edit(func(_ obj, n []obj) { delete(n[0], "mbox"); n[0]["view"] = obj{"name": "v", "key": long(513)} }),
			message: "notifications[0].view.key: must be at most 512 characters"},
		{name: "pageLoad not object", req: edit(func(_ obj, n []obj) { delete(n[0], "mbox"); n[0]["pageLoad"] = true }),
			message: "notifications[0].pageLoad: must be an object, got a boolean"},
		{name: "over-long impressionId", req: edit(func(_ obj, n []obj) { n[0]["impressionId"] = long(129) }),
			message: "notifications[0].impressionId: must be at most 128 characters"},
		{name: "over-long address url", req: edit(func(_ obj, n []obj) { n[0]["address"] = obj{"url": long(4097)} }),
			message: "notifications[0].address.url: must be at most 4096 characters"},
		{name: "over-long referringUrl", req: edit(func(_ obj, n []obj) { n[0]["address"] = obj{"referringUrl": long(4097)} }),
			message: "notifications[0].address.referringUrl: must be at most 4096 characters"},
		{name: "51 parameters", req: edit(func(_ obj, n []obj) {
			p := obj{}
			for i := range 51 {
				p[fmt.Sprint("p", i)] = "v"
			}
			n[0]["parameters"] = p
		}), message: "notifications[0].parameters: 51 entries, at most 50 allowed"},
		{name: "parameter value not string", req: edit(func(_ obj, n []obj) { n[0]["parameters"] = obj{"size": 42} }),
			message: "notifications[0].parameters.size: must be a string, got a number"},
		{name: "over-long parameter value", req: edit(func(_ obj, n []obj) { n[0]["parameters"] = obj{"size": long(5001)} }),
			message: "notifications[0].parameters.size: must be at most 5000 characters"},
		{name: "over-long parameter name", req: edit(func(_ obj, n []obj) { n[0]["profileParameters"] = obj{long(129): "v"} }),
			message: "name must be at most 128 characters"},
		{name: "profile. parameter name", req: edit(func(_ obj, n []obj) { n[0]["profileParameters"] = obj{"profile.age": "3"} }),
			message: `notifications[0].profileParameters.profile.age: name must not start with "profile."`},
		{name: "orderId mbox parameter", req: edit(func(_ obj, n []obj) { n[0]["parameters"] = obj{"orderId": "3"} }),
			message: "notifications[0].parameters.orderId: not allowed as an mbox parameter"},
		{name: "negative order total", req: edit(func(_ obj, n []obj) { n[0]["order"] = obj{"id": "o1", "total": -1} }),
			message: "notifications[0].order.total: must not be negative"},
		{name: "product id not string", req: edit(func(_ obj, n []obj) { n[0]["product"] = obj{"id": 5} }),
			message: "notifications[0].product.id: must be a string"},
		{name: "body too large", req: testRequest(notesN(50)...), status: http.StatusRequestEntityTooLarge,
			message: "body: larger than the request size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{RecordRequests: true}
			if tt.status == http.StatusRequestEntityTooLarge {
				cfg.MaxBodyBytes = 1000
			}
			sim := newSim(t, cfg, Faults{})
			body := []byte(tt.raw)
			if tt.req != nil {
				body = mustJSON(t, tt.req)
			}
			target := tt.target
			if target == "" {
				target = deliveryURL
			}
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			resp := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}

			want := tt.status
			if want == 0 {
				want = http.StatusBadRequest
			}
			if resp.status != want {
				t.Fatalf("status %d, want %d; body %s", resp.status, want, resp.body)
			}
			if msg := resp.errorMessage(t); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want it to contain %q", msg, tt.message)
			}
			st := sim.Stats()
			if st.Requests != 1 || st.Accepted != 0 || st.Status[want] != 1 || st.Notifications != 0 || len(sim.Received()) != 0 {
				t.Errorf("stats after a rejection: %+v, received %d", st, len(sim.Received()))
			}
			if reqs := sim.Requests(); len(reqs) != 1 || reqs[0].Status != want || reqs[0].Message == "" {
				t.Errorf("request log %+v", reqs)
			}
		})
	}
}

func TestValidationAccepts(t *testing.T) {
	tests := []struct {
		name string
		req  obj
	}{
		{"minimal", testRequest(testNote("a"))},
		{"50 notifications", testRequest(notesN(50)...)},
		{"view click", edit(func(_ obj, n []obj) {
			delete(n[0], "mbox")
			n[0]["type"] = "click"
			n[0]["view"] = obj{"name": "home", "key": "k", "state": "s"}
		})},
		{"pageLoad", edit(func(_ obj, n []obj) { delete(n[0], "mbox"); n[0]["pageLoad"] = obj{} })},
		{"unknown fields", edit(func(r obj, n []obj) { r["somethingNew"] = 1; n[0]["extra"] = obj{"x": 1} })},
		{"execute and prefetch", edit(func(r obj, _ []obj) {
			r["execute"] = obj{"mboxes": []any{}}
			r["prefetch"] = obj{"views": []any{}}
		})},
		{"thirdPartyId with customerIds", edit(func(r obj, _ []obj) {
			r["id"] = obj{"thirdPartyId": "u1", "customerIds": []any{obj{"id": "c1", "integrationCode": "crm", "authenticatedState": "authenticated"}}}
		})},
		{"tntId and marketingCloudVisitorId, as the SDKs send", edit(func(r obj, _ []obj) { r["id"] = obj{"tntId": "abc", "marketingCloudVisitorId": "0123456789"} })},
		{"marketingCloudVisitorId", edit(func(r obj, _ []obj) { r["id"] = obj{"marketingCloudVisitorId": "0123456789"} })},
		{"tntId without hint", edit(func(r obj, _ []obj) { r["id"] = obj{"tntId": "abc"} })},
		{"tntId hint without node", edit(func(r obj, _ []obj) { r["id"] = obj{"tntId": "abc.35"} })},
		{"mobile context", edit(func(r obj, _ []obj) {
			r["context"] = obj{"channel": "mobile", "beacon": false, "mobilePlatform": obj{"deviceType": "phone", "platformType": "android"},
				"geo": obj{"ipAddress": "2001:db8::1", "countryCode": "DE"}, "timeOffsetInMinutes": 60.5}
		})},
		{"analytics and property", edit(func(r obj, _ []obj) {
			r["property"] = obj{"token": "08b62abd-c3e7-dfb3-ef3e-7ff7a3e6d4b8"}
			r["experienceCloud"] = obj{"analytics": obj{"supplementalDataId": "0123456789ABCDEF-0123456789abcdef",
				"logging": "server_side", "trackingServer": "x.sc.omtrdc.net"}}
		})},
		{"details", edit(func(_ obj, n []obj) {
			n[0]["parameters"] = obj{"size": "L"}
			n[0]["profileParameters"] = obj{"age": "33"}
			n[0]["address"] = obj{"url": "https://shop.example/p/1", "referringUrl": "https://shop.example/"}
			n[0]["order"] = obj{"id": "o1", "total": 9.5, "purchasedProductIds": []any{"p1", "p2"}, "time": "2024-01-02T03:04:05Z"}
			n[0]["product"] = obj{"id": "p1", "categoryId": "c1"}
			n[0]["impressionId"] = "imp-1"
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, Config{}, Faults{})
			resp := serve(t, sim, http.MethodPost, deliveryURL, mustJSON(t, tt.req))
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
		})
	}
}

func TestSplitRejectsWhatUnmarshalRejects(t *testing.T) {
	for _, raw := range []string{`{"a":1,"a":2}`, `{"a":1,}`, `{"a":"\xff"}`, `{"a":1} x`, `{"a":[1,]}`, `{"a"}`} {
		if _, err := splitObject([]byte(raw)); err == nil {
			t.Errorf("splitObject(%q) accepted", raw)
		}
	}
	for _, raw := range []string{`[1,]`, `[{"a":1,"a":1}]`, `[1] [2]`} {
		if _, err := splitArray([]byte(raw)); err == nil {
			t.Errorf("splitArray(%q) accepted", raw)
		}
	}
	m, err := splitObject([]byte(` { "a" : [1, 2] , "b\u0063":{"x":null} } `))
	if err != nil || string(m["a"]) != "[1, 2]" || string(m["bc"]) != `{"x":null}` || len(m) != 2 {
		t.Errorf("members %q, %v", m, err)
	}
}
