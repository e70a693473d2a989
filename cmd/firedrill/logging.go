package main

import (
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// newLogger prints "15:04:05 message key=value ..." lines to stderr; verbosity 1 shows debug lines.
func newLogger(verbosity int) logr.Logger {
	return funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), args)
	}, funcr.Options{Verbosity: verbosity})
}
