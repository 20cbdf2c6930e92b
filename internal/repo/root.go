// Package repo locates the notifierd checkout, for the commands and tests that need its files
// (scripts, the local broker).
package repo

import (
	"errors"
	"os"
	"path/filepath"
)

// Root is the module root: the nearest directory upward from the working directory that
// holds a go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the notifierd repository (no go.mod above the working directory)")
		}
		dir = parent
	}
}
