package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// key accumulates everything a build output depends on; equal keys mean an identical output,
// so a cached output with that key can be reused.
type key struct{ h hash.Hash }

func newKey(kind string) *key {
	k := &key{h: sha256.New()}
	k.add("kind", kind)
	return k
}

func (k *key) add(name, value string) *key {
	fmt.Fprintf(k.h, "%d:%s=%d:%s\n", len(name), name, len(value), value)
	return k
}

// addFile adds a file's path (relative to root), mode and contents.
func (k *key) addFile(root, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return err
	}
	k.add("file:"+filepath.ToSlash(rel), fmt.Sprintf("%o:%x", info.Mode().Perm(), sha256.Sum256(data)))
	return nil
}

// addTree adds every regular file under dir, in a stable order.
func (k *key) addTree(dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := k.addFile(dir, f); err != nil {
			return err
		}
	}
	return nil
}

// sum is the short content tag: 12 hex digits, as image tags and cache directories use it.
func (k *key) sum() string {
	return hex.EncodeToString(k.h.Sum(nil))[:12]
}
