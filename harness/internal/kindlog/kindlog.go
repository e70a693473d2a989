// Package kindlog adapts logr to the logger interface of sigs.k8s.io/kind.
package kindlog

import (
	"fmt"

	"github.com/go-logr/logr"
	kindlog "sigs.k8s.io/kind/pkg/log"
)

// Logger routes kind's log calls into a logr.Logger.
type Logger struct{ Log logr.Logger }

var _ kindlog.Logger = Logger{}

func (l Logger) Warn(message string)                      { l.Log.Info(message, "level", "warning") }
func (l Logger) Warnf(format string, args ...any)         { l.Warn(fmt.Sprintf(format, args...)) }
func (l Logger) Error(message string)                     { l.Log.Error(nil, message) }
func (l Logger) Errorf(format string, args ...any)        { l.Error(fmt.Sprintf(format, args...)) }
func (l Logger) V(level kindlog.Level) kindlog.InfoLogger { return infoLogger{l.Log.V(int(level))} }

type infoLogger struct{ log logr.Logger }

func (l infoLogger) Info(message string)              { l.log.Info(message) }
func (l infoLogger) Infof(format string, args ...any) { l.log.Info(fmt.Sprintf(format, args...)) }
func (l infoLogger) Enabled() bool                    { return l.log.Enabled() }
