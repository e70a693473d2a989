//go:build unix

package ledger

import (
	"errors"
	"os"
	"syscall"
)

// lock takes an exclusive, non-blocking flock on f; a second writer gets ErrLocked at once.
func lock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
