package images

import (
	"fmt"

	"github.com/go-logr/logr"
	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger routes kind's log calls into a logr.Logger.
type kindLogger struct{ log logr.Logger }

var _ kindlog.Logger = kindLogger{}

func (l kindLogger) Warn(message string)                      { l.log.Info(message, "level", "warning") }
func (l kindLogger) Warnf(format string, args ...any)         { l.Warn(fmt.Sprintf(format, args...)) }
func (l kindLogger) Error(message string)                     { l.log.Error(nil, message) }
func (l kindLogger) Errorf(format string, args ...any)        { l.Error(fmt.Sprintf(format, args...)) }
func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return kindInfo{l.log.V(int(level))} }

type kindInfo struct{ log logr.Logger }

func (l kindInfo) Info(message string)              { l.log.Info(message) }
func (l kindInfo) Infof(format string, args ...any) { l.log.Info(fmt.Sprintf(format, args...)) }
func (l kindInfo) Enabled() bool                    { return l.log.Enabled() }
