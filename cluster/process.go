package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one program of the topology, run as its own OS process so that
// it can be killed, stopped gracefully and restarted like a real deployment.
type Process struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // added to the harness's own environment
	LogFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs the process; its output goes to LogFile (appended, so restarts
// keep one log).
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		return fmt.Errorf("%s is already running", p.Name)
	}
	log, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "\n==== %s started at %s ====\n", p.Name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a signal to the harness does not reach it twice.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		log.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Running tells whether the process is alive.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.exited()
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Process) Kill() error {
	return p.signalAndWait(syscall.SIGKILL, 10*time.Second)
}

// Stop asks the process to stop (SIGTERM) and waits up to grace for it,
// then kills it. It reports whether the process exited by itself.
func (p *Process) Stop(grace time.Duration) (graceful bool, err error) {
	err = p.signalAndWait(syscall.SIGTERM, grace)
	if errors.Is(err, errTimeout) {
		return false, p.Kill()
	}
	return err == nil, err
}

var errTimeout = errors.New("timed out waiting for the process to exit")

func (p *Process) signalAndWait(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s to %s: %w", sig, p.Name, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(wait):
		return errTimeout
	}
}

// ExitError is how the last run ended (nil while running or after a clean exit).
func (p *Process) ExitError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// waitFor polls check until it succeeds, the context ends, or the process dies.
func waitFor(ctx context.Context, p *Process, what string, check func(context.Context) error) error {
	var last error
	for {
		if p != nil && !p.Running() {
			return fmt.Errorf("%s exited while waiting for %s (%v); see %s", p.Name, what, p.ExitError(), p.LogFile)
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
