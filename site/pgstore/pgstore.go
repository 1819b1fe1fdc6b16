// Package pgstore keeps a DNT-D vendor's side (site.Store) in PostgreSQL,
// through jackc/pgx v5's pgxpool: the store of record for a vendor whose
// site runs on many servers, all sharing one database.
//
// The package creates and migrates its schema itself (tables prefixed
// dntd_, in the connection's search path; versioned migrations applied in
// order under an advisory lock, recorded in dntd_schema). Records, their
// ends and histories are append-only; nonces expire.
//
// No process holds a lock of its own. Each site.Store Exchange is one
// transaction that first takes a transaction-scoped advisory lock on its
// relationship, so exchanges on one relationship run one after another in
// every process while different relationships proceed in parallel. The
// constraints hold the invariants even so: a nonce is a primary key (one
// answer per nonce; a replay is refused), and every history event after
// the first references its predecessor's hash by foreign key (a chain grows
// only in order). An answer leaves the vendor only after its transaction
// committed, so a vendor killed at any moment loses nothing it acknowledged.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// Timeout bounds each store operation, an exchange included.
const Timeout = 10 * time.Second

// maxAttempts bounds how often an exchange is run again after a conflict.
const maxAttempts = 5

// Store is a site.Store in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	own  bool
}

// Open connects to the database named by dsn (a libpq keyword/value string
// or postgres:// URL; pgxpool's pool_max_conns and friends apply), brings
// its schema up to date and returns the Store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// New returns a Store over an existing pool, migrating its schema first.
// Close does not close a pool given to New.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if _, err := Migrate(ctx, pool); err != nil {
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool if Open made it.
func (s *Store) Close() {
	if s.own {
		s.pool.Close()
	}
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Exchange runs fn in one transaction holding the relationship's advisory
// lock. When another exchange added the same nonce first, or PostgreSQL
// reports a serialisation failure or deadlock, it rolls back and runs fn
// again (a few times at most).
func (s *Store) Exchange(rel string, fn func(site.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.exchange(rel, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
	}
}

func (s *Store) exchange(rel string, fn func(site.Tx) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", rel); err != nil {
			return err
		}
		return fn(&pgTx{ctx: ctx, tx: tx})
	})
}

func retryable(err error) bool {
	if errors.Is(err, site.ErrNonceUsed) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Timeout)
}

// querier is what pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getRecord(ctx context.Context, q querier, id string) (site.StoredRecord, error) {
	var (
		raw   []byte
		ended *time.Time
		by    *string
	)
	err := q.QueryRow(ctx, `SELECT r.record, e.ended, e.ended_by FROM dntd_records r
		LEFT JOIN dntd_record_ends e ON e.record_id = r.id WHERE r.id = $1`, id).Scan(&raw, &ended, &by)
	if errors.Is(err, pgx.ErrNoRows) {
		return site.StoredRecord{}, site.ErrNotFound
	} else if err != nil {
		return site.StoredRecord{}, fmt.Errorf("pgstore: record %s: %w", id, err)
	}
	var sr site.StoredRecord
	if err := json.Unmarshal(raw, &sr.Record); err != nil {
		return site.StoredRecord{}, fmt.Errorf("pgstore: record %s: %w", id, err)
	}
	if ended != nil {
		sr.Ended, sr.EndedBy = ended.UTC(), *by
	}
	return sr, nil
}

func history(ctx context.Context, q querier, rel string) ([]policy.Event, error) {
	rows, err := q.Query(ctx, "SELECT event FROM dntd_history WHERE relationship = $1 ORDER BY seq", rel)
	if err != nil {
		return nil, fmt.Errorf("pgstore: history: %w", err)
	}
	chain, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (policy.Event, error) {
		var raw []byte
		var e policy.Event
		if err := row.Scan(&raw); err != nil {
			return e, err
		}
		return e, json.Unmarshal(raw, &e)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: history: %w", err)
	}
	return chain, nil
}

func getNonce(ctx context.Context, q querier, nonce string) (site.Nonce, bool, error) {
	n := site.Nonce{Nonce: nonce}
	err := q.QueryRow(ctx, "SELECT body_digest, status, answer, expires FROM dntd_nonces WHERE nonce = $1", nonce).
		Scan(&n.BodyDigest, &n.Status, &n.Answer, &n.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return site.Nonce{}, false, nil
	} else if err != nil {
		return site.Nonce{}, false, fmt.Errorf("pgstore: nonce: %w", err)
	}
	n.Expires = n.Expires.UTC()
	return n, true, nil
}

func addItem(ctx context.Context, q querier, subject string, item policy.DataItem) error {
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, "INSERT INTO dntd_items (subject, item) VALUES ($1, $2)", subject, b); err != nil {
		return fmt.Errorf("pgstore: add item: %w", err)
	}
	return nil
}

func (s *Store) GetRecord(id string) (site.StoredRecord, error) {
	ctx, cancel := opContext()
	defer cancel()
	return getRecord(ctx, s.pool, id)
}

func (s *Store) AgreedTerms(digest string) (site.AgreedTerms, bool, error) {
	ctx, cancel := opContext()
	defer cancel()
	var raw []byte
	err := s.pool.QueryRow(ctx, "SELECT terms FROM dntd_agreed_terms WHERE digest = $1", digest).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return site.AgreedTerms{}, false, nil
	} else if err != nil {
		return site.AgreedTerms{}, false, fmt.Errorf("pgstore: agreed terms: %w", err)
	}
	var t site.AgreedTerms
	if err := json.Unmarshal(raw, &t); err != nil {
		return site.AgreedTerms{}, false, fmt.Errorf("pgstore: agreed terms %s: %w", digest, err)
	}
	return t, true, nil
}

func (s *Store) AllAgreedTerms() (map[string]site.AgreedTerms, error) {
	ctx, cancel := opContext()
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT digest, terms FROM dntd_agreed_terms")
	if err != nil {
		return nil, fmt.Errorf("pgstore: agreed terms: %w", err)
	}
	defer rows.Close()
	out := map[string]site.AgreedTerms{}
	for rows.Next() {
		var digest string
		var raw []byte
		var t site.AgreedTerms
		if err := rows.Scan(&digest, &raw); err != nil {
			return nil, fmt.Errorf("pgstore: agreed terms: %w", err)
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("pgstore: agreed terms %s: %w", digest, err)
		}
		out[digest] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: agreed terms: %w", err)
	}
	return out, nil
}

func (s *Store) History(rel string) ([]policy.Event, error) {
	ctx, cancel := opContext()
	defer cancel()
	return history(ctx, s.pool, rel)
}

func (s *Store) AddItem(subject string, item policy.DataItem) error {
	ctx, cancel := opContext()
	defer cancel()
	return addItem(ctx, s.pool, subject, item)
}

func (s *Store) Items(subject string) ([]policy.DataItem, error) {
	ctx, cancel := opContext()
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT item FROM dntd_items WHERE subject = $1 ORDER BY id", subject)
	if err != nil {
		return nil, fmt.Errorf("pgstore: items: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (policy.DataItem, error) {
		var raw []byte
		var it policy.DataItem
		if err := row.Scan(&raw); err != nil {
			return it, err
		}
		return it, json.Unmarshal(raw, &it)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: items: %w", err)
	}
	return items, nil
}

func (s *Store) Sessions(rel string) ([]string, error) {
	ctx, cancel := opContext()
	defer cancel()
	return sessions(ctx, s.pool, rel)
}

func sessions(ctx context.Context, q querier, rel string) ([]string, error) {
	rows, err := q.Query(ctx, "SELECT session FROM dntd_sessions WHERE relationship = $1 ORDER BY session", rel)
	if err != nil {
		return nil, fmt.Errorf("pgstore: sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: sessions: %w", err)
	}
	return out, nil
}

func (s *Store) GetNonce(nonce string) (site.Nonce, bool, error) {
	ctx, cancel := opContext()
	defer cancel()
	return getNonce(ctx, s.pool, nonce)
}

func (s *Store) ForgetNonces(t time.Time) error {
	ctx, cancel := opContext()
	defer cancel()
	if _, err := s.pool.Exec(ctx, "DELETE FROM dntd_nonces WHERE expires < $1", t); err != nil {
		return fmt.Errorf("pgstore: forget nonces: %w", err)
	}
	return nil
}

// pgTx is a site.Tx over one PostgreSQL transaction.
type pgTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t *pgTx) GetNonce(nonce string) (site.Nonce, bool, error) { return getNonce(t.ctx, t.tx, nonce) }

// AddNonce inserts the nonce. A concurrent exchange that inserted it first
// makes the insert do nothing once that one commits: ErrNonceUsed, and the
// exchange runs again, to find the nonce and its answer.
func (t *pgTx) AddNonce(n site.Nonce) error {
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO dntd_nonces (nonce, body_digest, status, answer, expires)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nonce) DO NOTHING`, n.Nonce, n.BodyDigest, n.Status, n.Answer, n.Expires)
	if err != nil {
		return fmt.Errorf("pgstore: add nonce: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: %w", site.ErrNonceUsed)
	}
	return nil
}

func (t *pgTx) GetRecord(id string) (site.StoredRecord, error) { return getRecord(t.ctx, t.tx, id) }

func (t *pgTx) AddRecord(r site.StoredRecord) error {
	b, err := json.Marshal(r.Record)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO dntd_records (id, user_key, record) VALUES ($1, $2, $3)",
		r.Record.ID, r.Record.Agreement.UserKey, b); err != nil {
		return fmt.Errorf("pgstore: add record: %w", err)
	}
	return nil
}

func (t *pgTx) EndRecord(id string, at time.Time, by string) error {
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO dntd_record_ends (record_id, ended, ended_by) VALUES ($1, $2, $3)", id, at, by); err != nil {
		return fmt.Errorf("pgstore: end record: %w", err)
	}
	return nil
}

func (t *pgTx) PutAgreedTerms(digest string, a site.AgreedTerms) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO dntd_agreed_terms (digest, terms) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING", digest, b); err != nil {
		return fmt.Errorf("pgstore: agreed terms: %w", err)
	}
	return nil
}

func (t *pgTx) History(rel string) ([]policy.Event, error) { return history(t.ctx, t.tx, rel) }

func (t *pgTx) AppendHistory(rel string, events ...policy.Event) error {
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		var prev *string
		if e.Seq > 0 {
			prev = &e.Prev
		}
		if _, err := t.tx.Exec(t.ctx, "INSERT INTO dntd_history (relationship, seq, hash, prev, event) VALUES ($1, $2, $3, $4, $5)",
			rel, e.Seq, e.Hash, prev, b); err != nil {
			return fmt.Errorf("pgstore: append history: %w", err)
		}
	}
	return nil
}

func (t *pgTx) AddItem(subject string, item policy.DataItem) error {
	return addItem(t.ctx, t.tx, subject, item)
}

func (t *pgTx) Sessions(rel string) ([]string, error) { return sessions(t.ctx, t.tx, rel) }

func (t *pgTx) Link(session, rel string) error {
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO dntd_sessions (relationship, session) VALUES ($1, $2) ON CONFLICT DO NOTHING", rel, session); err != nil {
		return fmt.Errorf("pgstore: link: %w", err)
	}
	return nil
}
