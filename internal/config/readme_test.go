package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The README's configuration reference must name every key and its environment variable.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := f.Tag.Get("yaml")
			if prefix != "" {
				key = prefix + "." + key
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key)
				continue
			}
			if row := "| `" + key + "` |"; !strings.Contains(string(readme), row) || !strings.Contains(string(readme), "`"+EnvName(key)+"`") {
				t.Errorf("README's configuration reference lacks %s (%s)", key, EnvName(key))
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}
