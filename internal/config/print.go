package config

import (
	"go.yaml.in/yaml/v3"
)

// MarshalYAML redacts a secret wherever the configuration is printed.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Redacted renders the effective configuration as YAML, secrets hidden.
func (c Config) Redacted() ([]byte, error) {
	return yaml.Marshal(c)
}
