package targetsim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.yaml.in/yaml/v3"
)

// The contract test holds the simulator against Adobe's own OpenAPI spec of the
// Delivery API: every request it accepts must be valid by the spec (else the
// simulator is too lenient), its 200s must match the spec's response schema,
// and requests the spec refuses must be refused here too.

// specDir is Adobe's spec as vendored in testdata (Apache-2.0, its LICENSE and SOURCE.txt
// beside it), so the contract is checked wherever the tests run, CI's clean clone included.
func specDir(t *testing.T) string {
	t.Helper()
	spec := filepath.Join("testdata", "target-openapi")
	if _, err := os.Stat(filepath.Join(spec, "delivery", "api.yaml")); err != nil {
		t.Fatalf("Adobe's spec is missing: %v", err)
	}
	return spec
}

// loadRouter loads delivery/api.yaml as kin-openapi can take it. Three
// adjustments, none touching a schema: info.description is a $ref to a
// markdown file (kin-openapi wants a string); the server URL's {clientCode}
// is not declared as a variable; and Adobe's own request example is invalid
// by its schema (prefetch.mboxes as an object), so examples are not validated.
func loadRouter(t *testing.T) routers.Router {
	t.Helper()
	path := filepath.Join(specDir(t), "delivery", "api.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	if info := mappingValue(root.Content[0], "info"); info != nil {
		if desc := mappingValue(info, "description"); desc != nil && desc.Kind == yaml.MappingNode {
			*desc = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "Adobe Target Delivery API"}
		}
	}
	if raw, err = yaml.Marshal(&root); err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromDataWithPath(raw, &url.URL{Path: filepath.ToSlash(path)})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	for _, s := range doc.Servers {
		if strings.Contains(s.URL, "{clientCode}") && s.Variables == nil {
			s.Variables = map[string]*openapi3.ServerVariable{"clientCode": {Default: "acme"}}
		}
	}
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	return router
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// specRequest is the request as Target's real host would get it: the
// simulator's route prefix stands in for the host, so the spec sees the same
// query, headers and body at https://{client}.tt.omtrdc.net/rest/v1/delivery.
func specRequest(t *testing.T, query string, header http.Header, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://acme.tt.omtrdc.net/rest/v1/delivery?"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	return req
}

func validateAgainstSpec(t *testing.T, router routers.Router, req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	t.Helper()
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("spec has no route for %s %s: %v", req.Method, req.URL, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true}}
	return in, openapi3filter.ValidateRequest(context.Background(), in)
}

func contractHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}, "User-Agent": {"notifierd-contract-test"}}
}

func TestContractAcceptedRequestsMatchSpec(t *testing.T) {
	router := loadRouter(t)
	const query = "client=acme&sessionId=4b2f8e3a-session&imsOrgId=0123456789ABCDEF%40AdobeOrg&version=2.4.3"

	mboxDisplay := testNote("mbox-display")
	mboxDisplay["impressionId"] = "imp-1"
	mboxDisplay["mbox"] = obj{"name": "product1", "state": "state-token"}
	viewClick := obj{"id": "view-click", "type": "click", "timestamp": testTS, "tokens": []any{"click-token"},
		"view": obj{"name": "checkout", "key": "k1", "state": "view-state"}}
	pageLoad := obj{"id": "page-load", "type": "display", "timestamp": testTS, "tokens": []any{"t1", "t2"},
		"pageLoad": obj{"state": "pl-state"}}
	detailed := testNote("detailed")
	detailed["address"] = obj{"url": "https://shop.example/p/1", "referringUrl": "https://shop.example/"}
	detailed["parameters"] = obj{"size": "L", "color": "red"}
	detailed["profileParameters"] = obj{"tier": "gold"}
	detailed["order"] = obj{"id": "o-1", "total": 99.95, "purchasedProductIds": []any{"p1", "p2"}, "time": "2024-05-06T07:08:09Z"}
	detailed["product"] = obj{"id": "p1", "categoryId": "shoes"}

	with := func(r obj, fn func(obj)) obj { fn(r); return r }
	cases := []struct {
		name  string
		route string
		req   obj
	}{
		{"mbox display", "/c/acme", testRequest(mboxDisplay)},
		{"view click", "/e/21", with(testRequest(viewClick), func(r obj) {
			r["id"] = obj{"marketingCloudVisitorId": "07327024324407615852294135870030620007"}
		})},
		{"pageLoad", "", testRequest(pageLoad)},
		{"customerIds", "/c/acme", with(testRequest(testNote("cust")), func(r obj) {
			r["id"] = obj{"thirdPartyId": "user-1", "customerIds": []any{
				obj{"id": "crm-1", "integrationCode": "crm", "authenticatedState": "authenticated"},
				obj{"id": "loy-9", "integrationCode": "loyalty", "authenticatedState": "logged_out"},
			}}
		})},
		{"property token", "/c/acme", with(testRequest(testNote("prop")), func(r obj) {
			r["property"] = obj{"token": "08b62abd-c3e7-dfb3-ef3e-7ff7a3e6d4b8"}
		})},
		{"analytics", "/c/acme", with(testRequest(testNote("a4t")), func(r obj) {
			r["experienceCloud"] = obj{"analytics": obj{"supplementalDataId": "2F1A3B4C5D6E7F80-0123456789ABCDEF",
				"logging": "server_side", "trackingServer": "acme.sc.omtrdc.net", "trackingServerSecure": "acme.sc.omtrdc.net"}}
		})},
		{"parameters and address", "/c/acme", testRequest(detailed)},
		{"context", "/c/acme", with(testRequest(testNote("ctx")), func(r obj) {
			r["context"] = obj{"channel": "web", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
				"address": obj{"url": "https://shop.example/"}, "timeOffsetInMinutes": 120,
				"screen":      obj{"width": 1920, "height": 1080, "orientation": "landscape"},
				"browser":     obj{"host": "shop.example", "language": "en-US"},
				"geo":         obj{"ipAddress": "203.0.113.9", "countryCode": "DE", "city": "Berlin"},
				"clientHints": obj{"mobile": false, "platform": "Linux"}}
			r["requestId"] = "req-ctx"
		})},
		{"mobile", "/c/acme", with(testRequest(testNote("mob")), func(r obj) {
			r["context"] = obj{"channel": "mobile", "mobilePlatform": obj{"deviceType": "phone", "platformType": "ios", "version": "17"},
				"application": obj{"id": "com.acme.app", "name": "Acme", "version": "1.2"}}
		})},
		{"a full batch", "/c/acme", testRequest(notesN(50)...)},
		{"everything at once", "/c/acme", with(testRequest(mboxDisplay, viewClick, pageLoad, detailed), func(r obj) {
			r["property"] = obj{"token": "prop"}
			r["impressionId"] = "page-imp"
			r["prefetch"] = obj{"pageLoad": obj{"parameters": obj{"p": "v"}}}
			r["execute"] = obj{}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := mustJSON(t, tc.req)
			sim := newSim(t, Config{}, Faults{})
			simReq := httptest.NewRequest(http.MethodPost, tc.route+"/rest/v1/delivery?"+query, bytes.NewReader(body))
			simReq.Header = contractHeader()
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, simReq)
			if rec.Code != http.StatusOK {
				t.Fatalf("simulator refused a request meant to be valid: %d %s", rec.Code, rec.Body)
			}

			in, err := validateAgainstSpec(t, router, specRequest(t, query, contractHeader(), body))
			if err != nil {
				t.Fatalf("the simulator accepted a request Adobe's spec rejects (simulator too lenient):\n%v", err)
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 rec.Code,
				Header:                 rec.Header(),
				Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
				Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("simulator's 200 does not match the spec's DeliveryResponse: %v\n%s", err, rec.Body)
			}
		})
	}
}

// Requests Adobe's spec rejects must be rejected by the simulator too, and its
// error body must match the spec's UnexpectedError.
func TestContractSpecRejectionsAreRejected(t *testing.T) {
	router := loadRouter(t)
	const query = "sessionId=s1&imsOrgId=org%40AdobeOrg"
	mutate := func(fn func(r obj, n obj)) obj {
		n := testNote("a")
		r := testRequest(n)
		fn(r, n)
		return r
	}
	cases := []struct {
		name string
		req  obj
	}{
		{"no channel", mutate(func(r, _ obj) { r["context"] = obj{} })},
		{"bad type", mutate(func(_, n obj) { n["type"] = "view" })},
		{"fractional timestamp", mutate(func(_, n obj) { n["timestamp"] = 1.5 })},
		{"token not string", mutate(func(_, n obj) { n["tokens"] = []any{7} })},
		{"id too long", mutate(func(_, n obj) { n["id"] = strings.Repeat("x", 201) })},
		{"mbox name too long", mutate(func(_, n obj) { n["mbox"] = obj{"name": strings.Repeat("x", 251)} })},
		{"view key too long", mutate(func(_, n obj) { delete(n, "mbox"); n["view"] = obj{"key": strings.Repeat("x", 513)} })},
		{"customerId without authenticatedState", mutate(func(r, _ obj) {
			r["id"] = obj{"tntId": "abc", "customerIds": []any{obj{"id": "1", "integrationCode": "crm"}}}
		})},
		{"property without token", mutate(func(r, _ obj) { r["property"] = obj{} })},
		{"short supplementalDataId", mutate(func(r, _ obj) {
			r["experienceCloud"] = obj{"analytics": obj{"supplementalDataId": "0123"}}
		})},
		{"parameter not string", mutate(func(_, n obj) { n["parameters"] = obj{"n": 1} })},
		{"51 parameters", mutate(func(_, n obj) {
			p := obj{}
			for i := range 51 {
				p[fmt.Sprint(i)] = "v"
			}
			n["profileParameters"] = p
		})},
		{"country code too long", mutate(func(r, _ obj) { r["context"] = obj{"channel": "web", "geo": obj{"countryCode": "DEU"}} })},
		{"mobilePlatform without platformType", mutate(func(r, _ obj) {
			r["context"] = obj{"channel": "mobile", "mobilePlatform": obj{"deviceType": "phone"}}
		})},
		{"beacon not boolean", mutate(func(r, _ obj) { r["context"] = obj{"channel": "web", "beacon": "yes"} })},
		{"negative order total", mutate(func(_, n obj) { n["order"] = obj{"total": -1} })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := mustJSON(t, tc.req)
			in, err := validateAgainstSpec(t, router, specRequest(t, query, contractHeader(), body))
			if err == nil {
				t.Fatal("test case is valid by the spec; it should not be")
			}
			sim := newSim(t, Config{}, Faults{})
			simReq := httptest.NewRequest(http.MethodPost, "/rest/v1/delivery?"+query, bytes.NewReader(body))
			simReq.Header = contractHeader()
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, simReq)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("spec rejects (%v) but the simulator answered %d", err, rec.Code)
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
				Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("400 body does not match the spec's UnexpectedError: %v\n%s", err, rec.Body)
			}
		})
	}
}
