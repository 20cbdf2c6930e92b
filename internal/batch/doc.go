// Package batch groups notifications that can share one Delivery API request (same
// envelope: client, session, visitor, customer ids, property, context, analytics, route)
// and hands a group on when it is full, its bytes reach the bound, its linger expires, or
// the caller flushes. A global budget on buffered events and bytes makes the caller wait
// instead of growing memory when delivery is slow.
package batch
