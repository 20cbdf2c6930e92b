package testbed

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
)

// The random values of generated events, as bench's and demo's generators draw them: each
// byte is one draw of rng, so the same seed gives the same values.

// LocationHints are the edge clusters found in generated tntIds (mboxedge31, 34, ...).
var LocationHints = []string{"31", "34", "35", "38"}

// RandomHex is n random bytes in hex: a session id.
func RandomHex(rng *rand.Rand, n int) string { return fmt.Sprintf("%x", randomBytes(rng, n)) }

// RandomUUID is a version 4 UUID: a tntId or a property token.
func RandomUUID(rng *rand.Rand) string {
	b := randomBytes(rng, 16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RandomToken is n random bytes in base64, like the event tokens and states a prefetch
// response carries.
func RandomToken(rng *rand.Rand, n int) string {
	return base64.StdEncoding.EncodeToString(randomBytes(rng, n))
}

// RandomMCID is an Experience Cloud visitor id: 38 digits.
func RandomMCID(rng *rand.Rand) string {
	return fmt.Sprintf("%019d%019d", rng.Uint64N(1e19), rng.Uint64N(1e19))
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return b
}
