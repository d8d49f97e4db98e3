// Package store is the reference target's database: SQLite through the pure-Go
// driver, shared by every worker process. It holds the schema, the generated
// AHSP catalog, seed data, users with Django password hashes, database
// sessions and every domain operation of the project APIs. Money and
// quantities are decimals end to end; floats appear only in JSON at the edge.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is the database shared by all worker processes. Writes go through a
// single connection that begins IMMEDIATE transactions, so concurrent
// writers in other processes queue on the busy timeout instead of failing a
// lock upgrade; reads use a separate pool and see committed data only.
type Store struct {
	w *sql.DB
	r *sql.DB
	// now is the clock for updated_at stamps and session expiry.
	now func() time.Time
	// stmts caches prepared read statements: parsing SQL was half the
	// cost of a tree GET.
	stmts sync.Map // query -> *sql.Stmt
}

// BusyTimeout is how long a statement waits for another process's write lock.
const BusyTimeout = 10 * time.Second

// Open opens (creating when missing) the database at path and applies the
// schema. The file may be opened by several processes at once.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty database path (set --db to a file path)")
	}
	pragmas := url.Values{}
	for _, p := range []string{
		fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"foreign_keys(1)",
		// NORMAL in WAL mode loses nothing on a process crash (kill -9),
		// only on power loss; the OS still holds the written pages.
		"synchronous(NORMAL)",
	} {
		pragmas.Add("_pragma", p)
	}
	base := "file:" + path + "?" + pragmas.Encode()
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", base)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close releases both connection pools.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return errors.Join(s.w.Close(), s.r.Close())
}

// stmt returns the cached prepared read statement for query.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare query: %w", err)
	}
	if v, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// readRow runs a one-row read through the statement cache.
func (s *Store) readRow(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// txQuery runs a cached read statement inside tx.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	email TEXT NOT NULL UNIQUE,
	password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
	key TEXT PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS projects (
	id INTEGER PRIMARY KEY,
	owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	markup_percent TEXT NOT NULL DEFAULT '10',
	ppn_percent TEXT NOT NULL DEFAULT '11',
	rounding_base INTEGER NOT NULL DEFAULT 10000,
	cust_seq INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_owner ON projects(owner_id);
CREATE TABLE IF NOT EXISTS ref_ahsp (
	id INTEGER PRIMARY KEY,
	kode_ahsp TEXT NOT NULL UNIQUE,
	nama_ahsp TEXT NOT NULL,
	satuan TEXT NOT NULL,
	sumber TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ref_rincian (
	id INTEGER PRIMARY KEY,
	ref_ahsp_id INTEGER NOT NULL REFERENCES ref_ahsp(id) ON DELETE CASCADE,
	ordering INTEGER NOT NULL,
	kategori TEXT NOT NULL,
	kode TEXT NOT NULL,
	uraian TEXT NOT NULL,
	satuan TEXT NOT NULL,
	koefisien TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ref_rincian_ahsp ON ref_rincian(ref_ahsp_id, ordering);
CREATE TABLE IF NOT EXISTS klasifikasi (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	ordering_index INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS klasifikasi_project ON klasifikasi(project_id);
CREATE TABLE IF NOT EXISTS sub (
	id INTEGER PRIMARY KEY,
	klasifikasi_id INTEGER NOT NULL REFERENCES klasifikasi(id) ON DELETE CASCADE,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	ordering_index INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sub_klasifikasi ON sub(klasifikasi_id);
CREATE TABLE IF NOT EXISTS pekerjaan (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	sub_id INTEGER NOT NULL REFERENCES sub(id) ON DELETE CASCADE,
	source_type TEXT NOT NULL CHECK (source_type IN ('ref','custom','ref_modified')),
	ref_id INTEGER REFERENCES ref_ahsp(id),
	snapshot_kode TEXT NOT NULL,
	snapshot_uraian TEXT NOT NULL,
	snapshot_satuan TEXT NOT NULL,
	ordering_index INTEGER NOT NULL,
	budgeted_cost TEXT,
	markup_override TEXT,
	updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pekerjaan_project ON pekerjaan(project_id);
CREATE INDEX IF NOT EXISTS pekerjaan_sub ON pekerjaan(sub_id);
CREATE TABLE IF NOT EXISTS volume (
	pekerjaan_id INTEGER PRIMARY KEY REFERENCES pekerjaan(id) ON DELETE CASCADE,
	quantity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS harga_items (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	kategori TEXT NOT NULL,
	kode TEXT NOT NULL,
	uraian TEXT NOT NULL,
	satuan TEXT NOT NULL,
	harga_satuan TEXT,
	UNIQUE (project_id, kategori, kode)
);
CREATE TABLE IF NOT EXISTS rincian (
	id INTEGER PRIMARY KEY,
	pekerjaan_id INTEGER NOT NULL REFERENCES pekerjaan(id) ON DELETE CASCADE,
	ordering INTEGER NOT NULL,
	kategori TEXT NOT NULL CHECK (kategori IN ('TK','BHN','ALT','LAIN')),
	kode TEXT NOT NULL,
	uraian TEXT NOT NULL,
	satuan TEXT NOT NULL,
	koefisien TEXT NOT NULL,
	harga_item_id INTEGER REFERENCES harga_items(id),
	ref_ahsp_id INTEGER,
	ref_pekerjaan_id INTEGER
);
CREATE INDEX IF NOT EXISTS rincian_pekerjaan ON rincian(pekerjaan_id, ordering);
`

func (s *Store) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("apply schema: %w", err)
		}
		return nil
	})
}

// tx runs fn in one write transaction (BEGIN IMMEDIATE) and commits; any
// error rolls everything back. A commit that returned nil is durable.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rtx runs fn in a read transaction so multi-query reads see one snapshot.
func (s *Store) rtx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// TimeLayout is how updated_at stamps are written and returned: Django's
// isoformat with microseconds and an explicit UTC offset.
const TimeLayout = "2006-01-02T15:04:05.000000-07:00"

func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func fmtTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a client-supplied timestamp (RFC 3339 with or without
// fraction, or a Z suffix).
func ParseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, l := range []string{time.RFC3339Nano, TimeLayout, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999-07:00"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339, e.g. 2026-01-02T15:04:05.000000+00:00", v)
}

// NaiveTime reports whether v is a timestamp without a time zone
// ("2026-12-02T00:32:05.890020"): the deployed app fails comparing one with
// its own aware stamps (the naive-timestamp-500 defect).
func NaiveTime(v string) bool {
	v = strings.TrimSpace(v)
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if _, err := time.Parse(l, v); err == nil {
			return true
		}
	}
	return false
}

// nextStamp returns a stamp strictly later than prev, so an optimistic-lock
// check can always tell two saves apart.
func (s *Store) nextStamp(prev string) string {
	t := s.stamp()
	if p, err := ParseTime(prev); err == nil && !t.After(p) {
		t = p.Add(time.Microsecond)
	}
	return fmtTime(t)
}

// ProjectOwner returns the owner of project pid; ok is false when it does not exist.
func (s *Store) ProjectOwner(ctx context.Context, pid int64) (int64, bool, error) {
	var owner int64
	err := s.readRow(ctx, "SELECT owner_id FROM projects WHERE id = ?", []any{pid}, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up project %d: %w", pid, err)
	}
	return owner, true, nil
}

// FirstProject returns the user's lowest project id; ok is false when the user has none.
func (s *Store) FirstProject(ctx context.Context, userID int64) (int64, bool, error) {
	var pid int64
	err := s.r.QueryRowContext(ctx, "SELECT id FROM projects WHERE owner_id = ? ORDER BY id LIMIT 1", userID).Scan(&pid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find project of user %d: %w", userID, err)
	}
	return pid, true, nil
}

// ProjectsOf returns every project id the user owns, ascending.
func (s *Store) ProjectsOf(ctx context.Context, userID int64) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id FROM projects WHERE owner_id = ? ORDER BY id", userID)
	if err != nil {
		return nil, fmt.Errorf("list projects of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list projects of user %d: %w", userID, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
