package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// verbsHelp starts notifierd --help: every verb, then the daemon's flags.
func verbsHelp(w io.Writer) {
	fmt.Fprint(w, `Usage:
  notifierd --config FILE                  run the daemon
  notifierd check-config --config FILE     validate and print the effective configuration
  notifierd publish [flags]                publish display/click events (notifierd publish -h)
  notifierd dlq list [flags]               list the dead-letter topic
  notifierd dlq replay [flags]             re-publish chosen dead letters to the events topic
  notifierd receipts [flags]               read the receipts topic, by session or id, or follow it
  notifierd --version

Flags of the daemon:
`)
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, ",") }

func (r *repeated) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// usage returns a FlagSet.Usage printing synopsis, then the flags.
func usage(fs *flag.FlagSet, w io.Writer, synopsis string) func() {
	return func() {
		fmt.Fprint(w, synopsis)
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
}

// helpOrUsageError: -h prints the usage and succeeds; a bad flag was already reported.
func helpOrUsageError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
