package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/notifierd/notifierd/internal/config"
)

// Proc is a child process whose stdout and stderr go to a log file.
type Proc struct {
	Name    string
	LogPath string
	Log     string // LogPath as messages show it: relative to the ProcSet's Root
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited and been reaped
	err     error         // Wait's error, valid once done is closed
}

// ProcSet starts processes and remembers them, so KillAll can make sure nothing a run
// started outlives it. A nil *ProcSet starts processes without remembering them.
type ProcSet struct {
	Root  string // log paths in messages are shown relative to it
	mu    sync.Mutex
	procs []*Proc
}

// Start runs bin with args, its output appended to logPath (a restarted process may keep
// one file). The child's environment is ours plus env, without any NOTIFIERD_ variable: a
// configuration file the test bed wrote alone decides.
func (ps *ProcSet) Start(name, logPath, bin string, args, env []string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, config.EnvPrefix) {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	// Own process group, so a Ctrl-C meant for the run does not reach the children (the run
	// stops them itself), and a parent-death signal so that not even a kill -9 of the run
	// leaves them running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if ps != nil {
		p.Log = RelTo(ps.Root, logPath)
		ps.mu.Lock()
		ps.procs = append(ps.procs, p)
		ps.mu.Unlock()
	}
	return p, nil
}

// KillAll kills (SIGKILL) and reaps every process still running; it returns their names.
func (ps *ProcSet) KillAll() []string {
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
	p.Term()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s exited after SIGTERM with %v (log in %s)", p.Name, p.err, p.Log)
		}
		return nil
	case <-time.After(within):
		p.Kill()
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed it (log in %s)", p.Name, within, p.Log)
	}
}

// WaitLog polls the log file until re matches, and returns the submatches. It fails when
// ctx ends or the process exits without printing it.
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
		select { // the log is polled: a child has no other way to say it got somewhere
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: waiting for %q in %s: %w", p.Name, re, p.Log, ctx.Err())
		case <-p.done:
			return nil, fmt.Errorf("%s exited (%v) before printing %q; see %s%s", p.Name, p.err, re, p.Log, Tail(p.LogPath, 5))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Tail returns the last n lines of a file, indented on lines of their own, for messages.
func Tail(path string, n int) string {
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

// GrepLog returns the lines of a file that match re (at most max of them).
func GrepLog(path string, re *regexp.Regexp, max int) []string {
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

// RelTo shows path relative to root when it lies below it.
func RelTo(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
