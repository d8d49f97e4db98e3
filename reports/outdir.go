package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultBase is where runs write their reports unless told otherwise.
const DefaultBase = "reports/out"

// NewOutDir creates base/<UTC timestamp>/ (with a numeric suffix if two runs
// start in the same second) and returns its path.
func NewOutDir(base string, now time.Time) (string, error) {
	stamp := now.UTC().Format("20060102-150405")
	for i := 0; i < 100; i++ {
		name := stamp
		if i > 0 {
			name = fmt.Sprintf("%s-%d", stamp, i)
		}
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(base, 0o755); err != nil {
			return "", fmt.Errorf("create report folder %s: %w", base, err)
		}
		if err := os.Mkdir(dir, 0o755); err == nil {
			return dir, nil
		} else if !os.IsExist(err) {
			return "", fmt.Errorf("create report folder %s: %w", dir, err)
		}
	}
	return "", fmt.Errorf("create report folder under %s: too many runs in one second", base)
}

// LinkLatest points base/latest at dir (relative, so the folder can be moved).
func LinkLatest(base, dir string) error {
	link := filepath.Join(base, "latest")
	rel, err := filepath.Rel(base, dir)
	if err != nil {
		return fmt.Errorf("link latest report: %w", err)
	}
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("link latest report: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return fmt.Errorf("link latest report: %w", err)
	}
	return nil
}
