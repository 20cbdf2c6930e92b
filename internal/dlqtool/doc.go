// Package dlqtool is the operator's side of the dead-letter topic: it reads every entry
// (without a consumer group, so looking changes nothing), lists them, and replays a chosen
// few to the events topic once the cause is fixed, so they go through notifierd again.
package dlqtool
