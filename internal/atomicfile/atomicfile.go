// Package atomicfile writes files so that a reader, or a process killed at
// any moment, sees either the old content or the new one, never a mix:
// write to a temporary file in the same directory, then rename it over the
// file. WriteFile also makes the new content durable (fsync of the file
// before the rename and of the directory after it); WriteFileNoSync skips
// both, for state that a reboot makes moot or that is rebuilt.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile atomically and durably replaces path with data, creating
// parent directories.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// WriteFileNoSync atomically replaces path with data like WriteFile, but
// without fsync: a killed process still never leaves a torn file, but after
// a power loss the file may hold its previous content or, on file systems
// that do not order a rename after the data it names, be empty. Only for
// files under the run dir (which a reboot clears) or rebuilt from other
// state, whose readers treat an unreadable file as missing.
func WriteFileNoSync(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if durable {
		if d, err := os.Open(dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// WriteJSON atomically replaces path with v encoded as indented JSON.
func WriteJSON(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFile(path, append(data, '\n'), perm)
}

// WriteJSONNoSync is WriteJSON without fsync (see WriteFileNoSync).
func WriteJSONNoSync(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileNoSync(path, append(data, '\n'), perm)
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
