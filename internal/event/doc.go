// Package event turns a Kafka message into a deliverable Target notification: it decodes
// and validates the event contract (pkg/notify), resolves identity from the targetCookie,
// derives stable ids, and pre-renders the notification JSON and the request envelope, so the
// batcher and sender only group and concatenate.
package event
