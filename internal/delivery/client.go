package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/notifierd/notifierd/internal/retry"
)

// Response is what a 200 from the Delivery API tells a sender.
type Response struct {
	Acked     []string // notification ids acknowledged, in the order Target listed them
	EdgeHost  string
	RequestID string // Target's requestId, for receipts
	TntID     string // Target's id.tntId, for receipts
}

// Error is a failed attempt, classified once, here, where the response arrives.
type Error struct {
	Status     int    // HTTP status; 0 when no response came
	Message    string // Target's message, or the transport error
	Retryable  bool
	RetryAfter time.Duration
	Reason     string // short label for metrics: the status, "timeout" or "network"
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return "target request failed: " + e.Message
	}
	return fmt.Sprintf("target answered %d: %s", e.Status, e.Message)
}

// Send posts one request; the fake in tests is a plain function of this type.
type Send func(ctx context.Context, url string, body []byte) (*Response, error)

// Client is the HTTP side of Send.
type Client struct {
	HTTP    *http.Client
	Timeout time.Duration // per attempt
}

// Send posts body to url and returns the acknowledgements, or an *Error.
func (c *Client) Send(ctx context.Context, url string, body []byte) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Message: err.Error(), Reason: "request"}
	}
	// Canonical keys set directly, both values in one allocation (Set makes one each).
	values := []string{"application/json", "application/json"}
	req.Header["Content-Type"] = values[0:1:1]
	req.Header["Accept"] = values[1:2:2]
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &Error{Message: err.Error(), Retryable: true, Reason: transportFailure(err)}
	}
	defer resp.Body.Close()
	payload, err := readBody(resp.Body, resp.ContentLength, maxResponse)
	if err != nil {
		return nil, &Error{Status: resp.StatusCode, Message: "reading response: " + err.Error(), Retryable: true, Reason: "network"}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{
			Status:     resp.StatusCode,
			Message:    errorMessage(payload),
			Retryable:  retry.Retryable(resp.StatusCode),
			RetryAfter: retry.RetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Reason:     fmt.Sprint(resp.StatusCode),
		}
	}
	out, err := decodeAck(payload)
	if err != nil {
		// A 200 we cannot read acknowledges nothing we can prove: retry it.
		return nil, &Error{Status: resp.StatusCode, Message: "unreadable 200 response: " + err.Error(), Retryable: true, Reason: "bad_response"}
	}
	return out, nil
}

// transportFailure names the class of a request that got no response, for the failure log
// and the retries metric: what an operator fixes differs between them.
func transportFailure(err error) string {
	var (
		dnsErr     *net.DNSError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		alertErr   tls.AlertError
		recordErr  tls.RecordHeaderError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &alertErr), errors.As(err, &recordErr):
		return "tls"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "network"
	}
}

// maxResponse bounds the bytes read of a response.
const maxResponse = 16 << 20

// readBody is io.ReadAll(io.LimitReader(r, limit)) in one allocation when the length is
// known: ReadAll starts at 512 bytes and grows by copying.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512)
	if contentLength >= 0 {
		// +1 leaves room for the read that sees EOF; the bound keeps a false length from
		// reserving memory the body never fills.
		size = min(contentLength+1, 64<<10, limit)
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if rest := limit - int64(len(b)); int64(len(room)) > rest {
			room = room[:rest]
		}
		if len(room) == 0 {
			return b, nil // the limit: the rest is ignored, as LimitReader does
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func errorMessage(payload []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(payload, &e) == nil && e.Message != "" {
		return e.Message
	}
	if len(payload) > 512 {
		payload = payload[:512]
	}
	return string(payload)
}
