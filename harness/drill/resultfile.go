package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// WriteResult writes res to <dir>/<id>.json, creating dir. The file is written under a temporary
// name and renamed, so a reader sees the whole result or none of it.
func WriteResult(dir string, res Result) (string, error) {
	if res.ID == "" {
		return "", errors.New("write drill result: the result has no drill id")
	}
	if res.ID != filepath.Base(res.ID) || strings.HasPrefix(res.ID, ".") {
		return "", fmt.Errorf("write drill result: drill id %q is not a file name", res.ID)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write drill result %s: %w", res.ID, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write drill result %s: %w", res.ID, err)
	}
	path := filepath.Join(dir, res.ID+".json")
	tmp, err := os.CreateTemp(dir, "."+res.ID+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("write drill result %s: %w", res.ID, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("write drill result %s: %w", path, err)
	}
	return path, nil
}

// ReadResults reads every <id>.json that WriteResult wrote to dir, oldest drill first. Read back
// from a file, a result has no Drill; its Events still hold the timeline.
func ReadResults(dir string) ([]Result, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read drill results: %w", err)
	}
	var out []Result
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || filepath.Ext(name) != ".json" {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read drill result: %w", err)
		}
		var res Result
		if err := json.Unmarshal(data, &res); err != nil {
			return nil, fmt.Errorf("read drill result %s: %w", path, err)
		}
		if res.ID == "" {
			return nil, fmt.Errorf("read drill result %s: not a drill result (no id)", path)
		}
		out = append(out, res)
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
