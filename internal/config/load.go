package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "NOTIFIERD_"

// Load reads path (none when empty) over the defaults, applies the environment, and
// validates. lookupEnv is os.LookupEnv outside tests.
func Load(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("reading config: %w", err)
		}
		if err := decodeYAML(raw, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), "", lookupEnv); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func decodeYAML(raw []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)                                              // a misspelt key is an error, not a silent default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return simplifyYAMLError(err)
	}
	return nil
}

func simplifyYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// EnvName is the environment variable that overrides the key at path (yaml names joined
// by dots): kafka.dlqTopic -> NOTIFIERD_KAFKA_DLQ_TOPIC.
func EnvName(path string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			b.WriteByte('_')
		}
		runes := []rune(part)
		for j, r := range runes {
			// a capital starts a word unless it continues an acronym (imsOrgId -> IMS_ORG_ID)
			if unicode.IsUpper(r) && j > 0 && (unicode.IsLower(runes[j-1]) || j+1 < len(runes) && unicode.IsLower(runes[j+1]) && unicode.IsUpper(runes[j-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

func applyEnv(v reflect.Value, prefix string, lookupEnv func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		key := field.Tag.Get("yaml")
		if prefix != "" {
			key = prefix + "." + key
		}
		fv := v.Field(i)
		if field.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, key, lookupEnv); err != nil {
				return err
			}
			continue
		}
		name := EnvName(key)
		raw, ok := lookupEnv(name)
		if !ok {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			return fmt.Errorf("config key %s (%s): %w", key, name, err)
		}
	}
	return nil
}

func setFromString(v reflect.Value, raw string) error {
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 200ms or 30s", raw)
		}
		v.SetInt(int64(d))
		return nil
	case []string:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
