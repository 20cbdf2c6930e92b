package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Proc is a child process whose stdout and stderr go to a log file. Every Proc is registered
// with a procSet, which kills whatever is still running when the scenario ends, so nothing
// the suite starts outlives it.
type Proc struct {
	Name    string
	LogPath string // absolute
	Log     string // LogPath relative to the repository root, for messages
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited and been reaped
	err     error         // Wait's error, valid once done is closed
}

// procSet tracks the processes of one scenario.
type procSet struct {
	root  string // the repository root, against which log paths are shown
	mu    sync.Mutex
	procs []*Proc
}

// start runs bin with args; its output goes to logPath (appended, so a restarted process
// keeps one file per name if the caller wants).
func (ps *procSet) start(name, logPath, bin string, args []string, env []string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	// Own process group, so a Ctrl-C meant for the suite does not reach the children (the
	// suite stops them itself), and a parent-death signal so that not even a kill -9 of the
	// suite leaves them running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, Log: relTo(ps.root, logPath), cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.procs = append(ps.procs, p)
	ps.mu.Unlock()
	return p, nil
}

// killAll kills (SIGKILL) and reaps every process still running; it returns their names.
func (ps *procSet) killAll() []string {
	ps.mu.Lock()
	procs := append([]*Proc(nil), ps.procs...)
	ps.mu.Unlock()
	var killed []string
	for _, p := range procs {
		if p.Running() {
			killed = append(killed, p.Name)
			p.Kill()
		}
	}
	return killed
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitErr is the process's exit status (nil for exit 0); valid once Done is closed.
func (p *Proc) ExitErr() error { return p.err }

// Kill sends SIGKILL and waits for the process to be reaped.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Term sends SIGTERM without waiting: a graceful stop begins.
func (p *Proc) Term() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// Stop sends SIGTERM and waits up to within for the process to exit. If it does not, it is
// killed and Stop says so; otherwise Stop returns the exit status (nil for exit 0).
func (p *Proc) Stop(within time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s exited after SIGTERM with %v", p.Name, p.err)
		}
		return nil
	case <-time.After(within):
		p.Kill()
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed it", p.Name, within)
	}
}

// WaitLog polls the log file until re matches a line, and returns the submatches. It fails
// when ctx ends or the process exits without printing it.
func (p *Proc) WaitLog(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		if b, err := os.ReadFile(p.LogPath); err == nil {
			if m := re.FindSubmatch(b); m != nil {
				out := make([]string, len(m))
				for i := range m {
					out[i] = string(m[i])
				}
				return out, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: waiting for %q in %s: %w", p.Name, re, p.Log, ctx.Err())
		case <-p.done:
			return nil, fmt.Errorf("%s exited (%v) before printing %q; see %s%s", p.Name, p.err, re, p.Log, tail(p.LogPath, 5))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of a file, indented, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n    " + string(bytes.Join(lines, []byte("\n    ")))
}

// grepLog returns the lines of a log file that match re (at most max of them).
func grepLog(path string, re *regexp.Regexp, max int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		if re.Match(line) {
			out = append(out, string(line))
			if len(out) == max {
				break
			}
		}
	}
	return out
}

// errBound is the error of a scenario that reached its time bound.
var errBound = errors.New("scenario time bound reached")
