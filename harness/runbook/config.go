package runbook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config states what the runbook's text does not: the short name of each scenario (chosen by keywords
// in its title) and, where the runbook does not state it, its severity with a reason.
//
//	scenarios:
//	  frontend:
//	    match: [frontend]
//	    severity: P0
//	    reason: all user requests fail, as in P0 "Complete service outage"
type Config struct {
	Path      string
	Scenarios []ScenarioConfig
}

// ScenarioConfig configures one scenario.
type ScenarioConfig struct {
	Name     string
	Match    []string // case-insensitive keywords; a scenario matches when its title contains one
	Severity string
	Reason   string
	Line     int // line of the entry in the config file
}

// ConfigPathFor returns where the config of a runbook lives by convention: beside it, with the
// extension ".md" replaced by ".severity.yaml".
func ConfigPathFor(runbookPath string) string {
	return strings.TrimSuffix(runbookPath, filepath.Ext(runbookPath)) + ".severity.yaml"
}

// LoadConfig reads a config file.
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(src, path)
}

// loadConfigIfPresent reads the config at path, or returns nil when there is none.
func loadConfigIfPresent(path string) (*Config, error) {
	cfg, err := LoadConfig(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return cfg, err
}

var shortNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// ParseConfig parses a config; path is used in errors and sources only.
func ParseConfig(src []byte, path string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := &Config{Path: path}
	if len(root.Content) == 0 {
		return cfg, nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &Error{File: path, Line: doc.Line, Msg: "config must be a mapping with the key \"scenarios\""}
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, val := doc.Content[i], doc.Content[i+1]
		if key.Value != "scenarios" {
			return nil, &Error{File: path, Line: key.Line, Msg: fmt.Sprintf("unknown key %q: the config has only \"scenarios\"", key.Value)}
		}
		if val.Kind != yaml.MappingNode {
			return nil, &Error{File: path, Line: val.Line, Msg: "\"scenarios\" must map short names to settings"}
		}
		for j := 0; j+1 < len(val.Content); j += 2 {
			sc, err := parseScenarioConfig(path, val.Content[j], val.Content[j+1])
			if err != nil {
				return nil, err
			}
			cfg.Scenarios = append(cfg.Scenarios, sc)
		}
	}
	return cfg, nil
}

func parseScenarioConfig(path string, key, val *yaml.Node) (ScenarioConfig, error) {
	sc := ScenarioConfig{Name: key.Value, Line: key.Line}
	if !shortNameRE.MatchString(sc.Name) {
		return sc, &Error{File: path, Line: key.Line, Msg: fmt.Sprintf("scenario name %q: use lower-case letters, digits and dashes", sc.Name)}
	}
	if val.Kind != yaml.MappingNode {
		return sc, &Error{File: path, Line: val.Line, Msg: fmt.Sprintf("scenario %q: expected match, severity and reason", sc.Name)}
	}
	for k := 0; k+1 < len(val.Content); k += 2 {
		field, v := val.Content[k], val.Content[k+1]
		var err error
		switch field.Value {
		case "match":
			if v.Kind == yaml.ScalarNode {
				sc.Match = []string{v.Value}
			} else {
				err = v.Decode(&sc.Match)
			}
		case "severity":
			err = v.Decode(&sc.Severity)
		case "reason":
			err = v.Decode(&sc.Reason)
		default:
			return sc, &Error{File: path, Line: field.Line, Msg: fmt.Sprintf("scenario %q: unknown key %q (want match, severity, reason)", sc.Name, field.Value)}
		}
		if err != nil {
			return sc, &Error{File: path, Line: v.Line, Msg: fmt.Sprintf("scenario %q: %s: %v", sc.Name, field.Value, err)}
		}
	}
	if len(sc.Match) == 0 {
		sc.Match = []string{sc.Name}
	}
	if sc.Severity != "" && sc.Reason == "" {
		return sc, &Error{File: path, Line: key.Line, Msg: fmt.Sprintf("scenario %q: a severity needs a reason", sc.Name)}
	}
	return sc, nil
}

// Error is a problem at a line of a runbook or config file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}
