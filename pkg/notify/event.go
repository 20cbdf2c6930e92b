package notify

import "encoding/json"

// Event types, as the Delivery API names them.
const (
	TypeDisplay = "display"
	TypeClick   = "click"
)

// Event is one Kafka message value: a display or click of Target content, in the Delivery
// API's own camelCase field names so a producer can copy them from its prefetch response.
type Event struct {
	Type      string `json:"type"`
	Timestamp int64  `json:"timestamp"` // ms since epoch of the display or click
	SessionID string `json:"sessionId,omitempty"`

	TntID                   string `json:"tntId,omitempty"`
	ThirdPartyID            string `json:"thirdPartyId,omitempty"`
	MarketingCloudVisitorID string `json:"marketingCloudVisitorId,omitempty"`

	Mbox     *Mbox     `json:"mbox,omitempty"`
	View     *View     `json:"view,omitempty"`
	PageLoad *PageLoad `json:"pageLoad,omitempty"`

	Tokens []string `json:"tokens"`

	ID           string `json:"id,omitempty"`
	Client       string `json:"client,omitempty"`
	TargetCookie string `json:"targetCookie,omitempty"`
	LocationHint string `json:"locationHint,omitempty"`

	CustomerIDs       []CustomerID      `json:"customerIds,omitempty"`
	PropertyToken     string            `json:"propertyToken,omitempty"`
	ImpressionID      string            `json:"impressionId,omitempty"`
	Parameters        map[string]string `json:"parameters,omitempty"`
	ProfileParameters map[string]string `json:"profileParameters,omitempty"`
	Order             json.RawMessage   `json:"order,omitempty"`
	Product           json.RawMessage   `json:"product,omitempty"`
	Address           *Address          `json:"address,omitempty"`
	Context           json.RawMessage   `json:"context,omitempty"`
	Analytics         json.RawMessage   `json:"analytics,omitempty"`
}

// Mbox names the mbox whose content was shown or clicked.
type Mbox struct {
	Name  string `json:"name"`
	State string `json:"state,omitempty"`
}

// View names the view (SPA) whose content was shown or clicked.
type View struct {
	Name  string `json:"name,omitempty"`
	Key   string `json:"key,omitempty"`
	State string `json:"state,omitempty"`
}

// PageLoad marks a notification for the page-load (global mbox) content.
type PageLoad struct {
	State string `json:"state,omitempty"`
}

// CustomerID is one of the visitor's authenticated ids (id.customerIds in the API).
type CustomerID struct {
	ID                 string `json:"id"`
	IntegrationCode    string `json:"integrationCode"`
	AuthenticatedState string `json:"authenticatedState,omitempty"`
}

// Address is the page the event happened on.
type Address struct {
	URL          string `json:"url,omitempty"`
	ReferringURL string `json:"referringUrl,omitempty"`
}
