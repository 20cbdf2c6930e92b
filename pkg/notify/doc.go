// Package notify is the producer side of notifierd's event contract: the typed display and
// click event that services publish to Kafka, its validation, and a publisher that keys each
// message by its Target session so one session's events stay in order on one partition.
//
// The daemon decodes with the same types and the same rules, so an event that passes
// Validate here is one notifierd will deliver.
package notify
