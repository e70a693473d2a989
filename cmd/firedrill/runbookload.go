package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// loadRunbook reads and parses a runbook for a subcommand; configPath "" means the config beside the
// runbook, if any. Every failure is bad input (exit 2) with a one-line message.
func loadRunbook(path, configPath string) ([]byte, *runbook.Runbook, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, badInput("runbook %s does not exist: give the path to a Markdown runbook", path)
	case err != nil:
		return nil, nil, badInput("cannot read runbook %s: %v", path, errors.Unwrap(err))
	case info.IsDir():
		return nil, nil, badInput("runbook %s is a directory: give the path to a Markdown runbook file", path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, badInput("cannot read runbook %s: %v", path, errors.Unwrap(err))
	}
	if configPath == "" {
		configPath = runbook.ConfigPathFor(path)
		if _, err := os.Stat(configPath); errors.Is(err, fs.ErrNotExist) {
			configPath = ""
		}
	}
	var cfg *runbook.Config
	if configPath != "" {
		cfg, err = runbook.LoadConfig(configPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, badInput("config %s does not exist: give a scenario config or leave --config out", configPath)
		}
		if err != nil {
			return nil, nil, badInput("%v", err)
		}
	}
	rb, err := runbook.Parse(src, runbook.WithPath(path), runbook.WithConfig(cfg))
	if errors.Is(err, runbook.ErrNotRunbook) {
		return nil, nil, badInput("%v: give a runbook with \"### Scenario N: Title\" sections", err)
	}
	if err != nil {
		return nil, nil, badInput("%v", err)
	}
	return src, rb, nil
}
