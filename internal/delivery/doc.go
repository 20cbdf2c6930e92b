// Package delivery sends batches to the Target Delivery API: it builds the request, routes
// it to the visitor's edge, keeps at most one request in flight per session, reads the
// per-id acknowledgements, retries only what was not acknowledged, and isolates the
// notifications a 400 rejects so the rest still go through. It also holds the connections
// to Target (Transport): HTTPS over HTTP/2 connections of its own, the rest over net/http's.
package delivery
