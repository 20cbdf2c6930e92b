package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Limits bounds what Validate accepts beyond the Delivery API's own field limits.
type Limits struct {
	MaxAge    time.Duration // oldest timestamp accepted, relative to now; 0 means no bound
	MaxFuture time.Duration // furthest future timestamp accepted (clock skew); 0 means no bound
}

// DefaultLimits accept a week of backlog and a minute of producer clock skew.
var DefaultLimits = Limits{MaxAge: 7 * 24 * time.Hour, MaxFuture: time.Minute}

// Reason codes of a ValidationError: few and fixed, so they can label metrics.
const (
	ReasonMissing   = "missing_field"
	ReasonTooLong   = "too_long"
	ReasonBadValue  = "bad_value"
	ReasonTimestamp = "timestamp_out_of_range"
	ReasonConflict  = "conflicting_fields"
)

// ValidationError says which field of an event is wrong and why.
type ValidationError struct {
	Field  string
	Reason string // one of the Reason* codes
	Detail string
}

func (e *ValidationError) Error() string {
	return e.Field + ": " + e.Detail
}

func invalid(field, reason, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Field length limits of the Delivery API (TARGET-API.md).
const (
	maxSessionID      = 128
	maxVisitorID      = 128
	maxNotificationID = 200
	maxMboxName       = 250
	maxViewName       = 128
	maxViewKey        = 512
	maxImpressionID   = 128
	maxURL            = 4096
	maxParams         = 50
	maxParamName      = 128
	maxParamValue     = 5000
	maxCustomerIDs    = 50
	maxTokens         = 100
	maxToken          = 1024
	maxClient         = 64
	maxPropertyToken  = 128
	maxLocationHint   = 16
)

// Validate checks e against the event contract. Identity may come from the targetCookie,
// so Validate resolves it first: an event valid here has a session and a visitor id.
func (e *Event) Validate(now time.Time, lim Limits) error {
	id := e.Identity(now)
	switch e.Type {
	case TypeDisplay, TypeClick:
	case "":
		return invalid("type", ReasonMissing, "required: display or click")
	default:
		return invalid("type", ReasonBadValue, "%q is not display or click", e.Type)
	}
	if err := validateTimestamp(e.Timestamp, now, lim); err != nil {
		return err
	}
	if err := ValidateSessionID(id.SessionID); err != nil {
		return err
	}
	if err := e.validateVisitor(id); err != nil {
		return err
	}
	if err := e.validateTarget(); err != nil {
		return err
	}
	if err := validateTokens(e.Tokens); err != nil {
		return err
	}
	return e.validateOptional()
}

func validateTimestamp(ts int64, now time.Time, lim Limits) error {
	if ts <= 0 {
		return invalid("timestamp", ReasonMissing, "required: ms since epoch")
	}
	t := time.UnixMilli(ts)
	if lim.MaxAge > 0 && t.Before(now.Add(-lim.MaxAge)) {
		return invalid("timestamp", ReasonTimestamp, "%s is more than %s in the past", t.UTC().Format(time.RFC3339), lim.MaxAge)
	}
	if lim.MaxFuture > 0 && t.After(now.Add(lim.MaxFuture)) {
		return invalid("timestamp", ReasonTimestamp, "%s is more than %s in the future", t.UTC().Format(time.RFC3339), lim.MaxFuture)
	}
	return nil
}

// ValidateSessionID applies Target's rule for the sessionId query parameter: 1 to 128
// printable characters, without space, '?' or '/'.
func ValidateSessionID(s string) error {
	if s == "" {
		return invalid("sessionId", ReasonMissing, "required (or a targetCookie with a live session entry)")
	}
	if len(s) > maxSessionID {
		return invalid("sessionId", ReasonTooLong, "%d characters, at most %d", len(s), maxSessionID)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '?' || c == '/' {
			return invalid("sessionId", ReasonBadValue, "character %q is not allowed", c)
		}
	}
	return nil
}

func (e *Event) validateVisitor(id Identity) error {
	ids := 0
	for _, f := range []struct{ name, value string }{
		{"tntId", e.TntID}, {"thirdPartyId", e.ThirdPartyID}, {"marketingCloudVisitorId", e.MarketingCloudVisitorID},
	} {
		if f.value == "" {
			continue
		}
		ids++
		if len(f.value) > maxVisitorID {
			return invalid(f.name, ReasonTooLong, "%d characters, at most %d", len(f.value), maxVisitorID)
		}
	}
	if ids == 0 && id.TntID == "" { // the cookie's, if any
		return invalid("tntId", ReasonMissing, "one of tntId, thirdPartyId, marketingCloudVisitorId (or a targetCookie with a live PC entry) is required")
	}
	if ids > 1 {
		return invalid("tntId", ReasonConflict, "only one of tntId, thirdPartyId, marketingCloudVisitorId may be set")
	}
	if len(e.CustomerIDs) > maxCustomerIDs {
		return invalid("customerIds", ReasonTooLong, "%d entries, at most %d", len(e.CustomerIDs), maxCustomerIDs)
	}
	for i, c := range e.CustomerIDs {
		field := func() string { return fmt.Sprintf("customerIds[%d]", i) } // only errors need it
		if c.ID == "" || c.IntegrationCode == "" {
			return invalid(field(), ReasonMissing, "id and integrationCode are required")
		}
		if len(c.ID) > maxVisitorID || len(c.IntegrationCode) > maxVisitorID {
			return invalid(field(), ReasonTooLong, "id and integrationCode are at most %d characters", maxVisitorID)
		}
		switch c.AuthenticatedState {
		case "", "unknown", "authenticated", "logged_out":
		default:
			return invalid(field()+".authenticatedState", ReasonBadValue, "%q is not unknown, authenticated or logged_out", c.AuthenticatedState)
		}
	}
	return nil
}

func (e *Event) validateTarget() error {
	n := 0
	if e.Mbox != nil {
		n++
		if e.Mbox.Name == "" {
			return invalid("mbox.name", ReasonMissing, "required")
		}
		if len(e.Mbox.Name) > maxMboxName {
			return invalid("mbox.name", ReasonTooLong, "%d characters, at most %d", len(e.Mbox.Name), maxMboxName)
		}
	}
	if e.View != nil {
		n++
		if e.View.Name == "" && e.View.Key == "" {
			return invalid("view.name", ReasonMissing, "a view needs a name or a key")
		}
		if len(e.View.Name) > maxViewName {
			return invalid("view.name", ReasonTooLong, "%d characters, at most %d", len(e.View.Name), maxViewName)
		}
		if len(e.View.Key) > maxViewKey {
			return invalid("view.key", ReasonTooLong, "%d characters, at most %d", len(e.View.Key), maxViewKey)
		}
	}
	if e.PageLoad != nil {
		n++
	}
	switch {
	case n == 0:
		return invalid("mbox", ReasonMissing, "exactly one of mbox, view, pageLoad is required")
	case n > 1:
		return invalid("mbox", ReasonConflict, "exactly one of mbox, view, pageLoad may be set")
	}
	return nil
}

func validateTokens(tokens []string) error {
	if len(tokens) == 0 {
		return invalid("tokens", ReasonMissing, "at least one event token from the prefetch response is required")
	}
	if len(tokens) > maxTokens {
		return invalid("tokens", ReasonTooLong, "%d tokens, at most %d", len(tokens), maxTokens)
	}
	for i, t := range tokens {
		if t == "" {
			return invalid(fmt.Sprintf("tokens[%d]", i), ReasonMissing, "empty token")
		}
		if len(t) > maxToken {
			return invalid(fmt.Sprintf("tokens[%d]", i), ReasonTooLong, "%d characters, at most %d", len(t), maxToken)
		}
	}
	return nil
}

func (e *Event) validateOptional() error {
	for _, f := range []struct {
		name  string
		value string
		max   int
	}{
		{"id", e.ID, maxNotificationID},
		{"client", e.Client, maxClient},
		{"impressionId", e.ImpressionID, maxImpressionID},
		{"propertyToken", e.PropertyToken, maxPropertyToken},
		{"locationHint", e.LocationHint, maxLocationHint},
	} {
		if len(f.value) > f.max {
			return invalid(f.name, ReasonTooLong, "%d characters, at most %d", len(f.value), f.max)
		}
	}
	if e.LocationHint != "" && !isAlnum(e.LocationHint) {
		return invalid("locationHint", ReasonBadValue, "%q is not an edge cluster number", e.LocationHint)
	}
	if e.Client != "" && !isClientCode(e.Client) {
		return invalid("client", ReasonBadValue, "%q is not a client code (letters, digits, '-', '_')", e.Client)
	}
	if e.Address != nil {
		if len(e.Address.URL) > maxURL {
			return invalid("address.url", ReasonTooLong, "%d characters, at most %d", len(e.Address.URL), maxURL)
		}
		if len(e.Address.ReferringURL) > maxURL {
			return invalid("address.referringUrl", ReasonTooLong, "%d characters, at most %d", len(e.Address.ReferringURL), maxURL)
		}
	}
	if err := validateParams("parameters", e.Parameters); err != nil {
		return err
	}
	if err := validateParams("profileParameters", e.ProfileParameters); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"order", e.Order}, {"product", e.Product}, {"context", e.Context}, {"analytics", e.Analytics}} {
		if len(f.raw) > 0 && !isJSONObject(f.raw) {
			return invalid(f.name, ReasonBadValue, "must be a JSON object")
		}
	}
	return nil
}

func validateParams(field string, params map[string]string) error {
	if len(params) > maxParams {
		return invalid(field, ReasonTooLong, "%d entries, at most %d", len(params), maxParams)
	}
	for name, value := range params {
		if name == "" || len(name) > maxParamName {
			return invalid(field, ReasonTooLong, "parameter name %.40q must have 1 to %d characters", name, maxParamName)
		}
		if len(value) > maxParamValue {
			return invalid(field+"."+name, ReasonTooLong, "%d characters, at most %d", len(value), maxParamValue)
		}
	}
	return nil
}

func isClientCode(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isJSONObject(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '{'
}
