// Package textfmt formats numbers for the reports the bench and the chaos suite write.
package textfmt

import (
	"strconv"
	"strings"
)

// Thousands writes n with comma separators: 1234567 -> 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	digits := strings.TrimPrefix(s, "-")
	var b strings.Builder
	if len(digits) < len(s) {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
