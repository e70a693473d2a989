package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"
)

// A drill runs in a child process of the one the user started. The kubectl commands a drill runs
// in-process (logs, get --watch, wait, rollout status) install SIGINT/SIGTERM handlers of their own
// that exit(1) at once, which would skip the drill's undo. The child runs in a process group of its
// own, so the terminal's and CI's signals never reach it: the parent forwards them on its stdin.

// drillWorkerEnv marks the child process that runs the drill.
const drillWorkerEnv = "FIREDRILL_DRILL_WORKER"

// superviseDrills is set by main; tests that run the root command in-process run drills directly.
var superviseDrills bool

var forwardedSignals = map[string]os.Signal{"interrupt": os.Interrupt, "terminated": syscall.SIGTERM}

// isDrillWorker reports whether this process should run the drill itself.
func isDrillWorker() bool { return !superviseDrills || os.Getenv(drillWorkerEnv) != "" }

// superviseDrill runs this command again as the drill worker, forwards SIGINT and SIGTERM to it and
// exits as it does. SIGKILL of this process kills the worker too, as it would an in-process drill.
func superviseDrill(cmd *cobra.Command) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find firedrill's own executable to run the drill: %w", err)
	}
	worker := exec.Command(self, os.Args[1:]...)
	worker.Env = append(os.Environ(), drillWorkerEnv+"=1")
	worker.Stdout, worker.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	worker.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	control, err := worker.StdinPipe()
	if err != nil {
		return err
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	done := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the worker ends: keep this one until then.
		runtime.LockOSThread()
		if err := worker.Start(); err != nil {
			done <- fmt.Errorf("cannot start the drill worker: %w", err)
			return
		}
		done <- worker.Wait()
	}()
	for {
		select {
		case s := <-signals:
			fmt.Fprintln(control, s.String())
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code := exit.ExitCode()
				if st, ok := exit.Sys().(syscall.WaitStatus); ok && st.Signaled() {
					code = 128 + int(st.Signal())
				}
				// The worker has printed its own error line.
				return &exitError{code: code}
			}
			return err
		}
	}
}

// forwardControl turns the supervisor's forwarded signals, read from stdin, into signals on ch.
func forwardControl(ch chan<- os.Signal) {
	go func() {
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			if s, ok := forwardedSignals[lines.Text()]; ok {
				ch <- s
			}
		}
	}()
}
