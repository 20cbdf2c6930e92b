package event

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzValidValueMatchesJSONText holds the one-pass check to jsontext's: it accepts exactly
// what jsontext.Value.IsValid accepts, and sees whitespace exactly where there is some.
func FuzzValidValueMatchesJSONText(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-0.5e+3`, `1E9`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`,
		`true`, `tru`, `truex`, `null`, `nul`, `false`, `[1,2,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":{"a":1}}`, `{ "a" : [ 1 , 2 ] }`, `[1"a"]`,
		`"\ud800"`, `"\ud83d\ude00"`, `"\x"`, "\"\t\"", `[[[[]]]]`, `{"a":[{"b":null}],"c":"d"}`,
		`[1 2]`, `{"a":1}}`, `[1]]`, `"a"b`, `1 `, ` 1`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		if !utf8.Valid(value) {
			return // Decode rejects it before parsing
		}
		p := parser{data: value}
		p.space()
		p.spaced = false // only whitespace inside the value counts
		ok := p.validValue(0)
		spaced := p.spaced
		p.space()
		ok = ok && p.pos == len(value)
		if want := jsontext.Value(value).IsValid(); ok != want {
			t.Fatalf("%.200q (%d bytes): validValue %v, jsontext %v", value, len(value), ok, want)
		}
		if !ok {
			return
		}
		compact := jsontext.Value(strings.TrimSpace(string(value)))
		if err := compact.Compact(); err != nil {
			t.Fatal(err)
		}
		if hasSpace := len(compact) != len(strings.TrimSpace(string(value))); spaced != hasSpace {
			t.Fatalf("%.200q: spaced %v, want %v", value, spaced, hasSpace)
		}
	})
}
