package tracing

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of notifierd's spans: the semantic conventions' where one fits (server,
// http, messaging, error), notifierd.* for the rest.
const (
	ServerAddress       = attribute.Key("server.address")            // the edge host a request went to
	HTTPStatus          = attribute.Key("http.response.status_code") // Target's answer; absent when none came
	ErrorType           = attribute.Key("error.type")                // a failed attempt's class: the status, timeout, network, ...
	MessagingSystem     = attribute.Key("messaging.system")
	MessagingDest       = attribute.Key("messaging.destination.name")
	MessagingBatchCount = attribute.Key("messaging.batch.message_count") // notifications in the request
	SessionID           = attribute.Key("session.id")                    // the Target session (sessionId)
	Attempt             = attribute.Key("notifierd.attempt")             // 1 for the first request of a batch
	RequestID           = attribute.Key("notifierd.target.request_id")   // Target's requestId of an acknowledgement
	Acknowledged        = attribute.Key("notifierd.acknowledged")        // notifications Target acknowledged
	Outcome             = attribute.Key("notifierd.outcome")             // how a request span ended
	Reason              = attribute.Key("notifierd.dlq.reason")          // the dead-letter reason code
	SourceTopic         = attribute.Key("notifierd.source.topic")
	SourcePartition     = attribute.Key("notifierd.source.partition")
	SourceOffset        = attribute.Key("notifierd.source.offset")
)
