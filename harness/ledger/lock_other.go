//go:build !unix

package ledger

import (
	"errors"
	"os"
)

func lock(*os.File) error { return errors.New("appending needs flock, which this platform lacks") }

func unlock(*os.File) {}
