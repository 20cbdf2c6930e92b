package delivery

import (
	"net/http"
	"time"
)

// NewTransport pools keep-alive connections with a bound per host, proxies from the
// environment, and verifies TLS.
func NewTransport(maxConnsPerHost int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = maxConnsPerHost
	t.MaxIdleConnsPerHost = maxConnsPerHost
	t.MaxIdleConns = 0
	t.IdleConnTimeout = 90 * time.Second
	return t
}
