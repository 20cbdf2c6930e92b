package demo

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Display draws progress snapshots: on a terminal, a small block redrawn in place with ANSI
// escapes; elsewhere (a pipe, a file, CI), one plain line per snapshot.
type Display struct {
	w     io.Writer
	tty   bool
	drawn int // lines of the block currently on screen
}

// NewDisplay draws on w; tty selects the redrawn block.
func NewDisplay(w io.Writer, tty bool) *Display { return &Display{w: w, tty: tty} }

// Show draws s.
func (d *Display) Show(s Snapshot) {
	if !d.tty {
		fmt.Fprintln(d.w, plainLine(s))
		return
	}
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn) // back to the block's first line
	}
	lines := block(s)
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	d.drawn = len(lines)
	io.WriteString(d.w, b.String())
}

// Leave keeps the block on screen and starts anything printed next below it.
func (d *Display) Leave() { d.drawn = 0 }

func plainLine(s Snapshot) string {
	n := s.Daemon
	return fmt.Sprintf("[%6.1fs] produced %d/%d  consumed %d  requests %d (%.1f/req)  retries %d  dead-lettered %d  committed %d  lag %d  acknowledged %d",
		s.Elapsed.Seconds(), s.Produced, s.Target, n.Consumed, n.Requests, n.MeanPerRequest(),
		n.Retries, n.DeadLettered, n.Committed, n.Lag, s.Sim.Unique)
}

func block(s Snapshot) []string {
	n := s.Daemon
	return []string{
		fmt.Sprintf("\x1b[1mnotifierd demo\x1b[0m  %s  produced %d/%d %s",
			s.Elapsed.Round(100*time.Millisecond), s.Produced, s.Target, bar(n.Committed, int64(s.Target), 30)),
		fmt.Sprintf("  notifierd  consumed %-6d requests %-5d %4.1f notifications/request   retries %-4d dead-lettered %d",
			n.Consumed, n.Requests, n.MeanPerRequest(), n.Retries, n.DeadLettered),
		fmt.Sprintf("  kafka      committed %-5d lag %-5d    target  acknowledged %d (duplicates %d, in flight %d)",
			n.Committed, n.Lag, s.Sim.Unique, s.Sim.Duplicates, s.Sim.InFlight),
	}
}

// bar shows done of total as a bar of width cells, with the percentage.
func bar(done, total int64, width int) string {
	if total <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	full := int(done * int64(width) / total)
	return "[" + strings.Repeat("#", full) + strings.Repeat(".", width-full) + fmt.Sprintf("] %3d%% committed", done*100/total)
}
