// Package notify is notifierd's event contract, with no Kafka in it: the typed display and
// click event that services publish, its validation, the visitor identity and session key
// it implies, the reason codes of dead letters, and Encode, which gives the message key and
// value for any Kafka client. Package publish is the producer on kafka-go.
//
// The daemon decodes with the same types and the same rules, so an event that passes
// Validate here is one notifierd will deliver.
package notify
