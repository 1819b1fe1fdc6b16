-- The vendor's side of its DNT-D relationships (site.Store).
-- Records, their ends and every relationship's history are append-only:
-- a trigger refuses UPDATE and DELETE on them.

CREATE TABLE dntd_records (
    id       text PRIMARY KEY,
    user_key text NOT NULL,            -- the relationship (the user's pairwise key)
    record   json NOT NULL,            -- policy.Record, signed by both parties
    stored   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dntd_record_ends (
    record_id text PRIMARY KEY REFERENCES dntd_records (id),
    ended     timestamptz NOT NULL,
    ended_by  text NOT NULL CHECK (ended_by IN ('user', 'site'))
);

-- A relationship's hash chain. The foreign key makes every event after the
-- first name its predecessor's hash: the chain can only grow in order.
CREATE TABLE dntd_history (
    relationship text NOT NULL,
    seq          integer NOT NULL CHECK (seq >= 0),
    hash         text NOT NULL,
    prev         text,
    prev_seq     integer GENERATED ALWAYS AS (seq - 1) STORED,
    event        json NOT NULL,
    PRIMARY KEY (relationship, seq),
    UNIQUE (relationship, seq, hash),
    CHECK ((seq = 0) = (prev IS NULL)),
    FOREIGN KEY (relationship, prev_seq, prev) REFERENCES dntd_history (relationship, seq, hash)
);

CREATE TABLE dntd_agreed_terms (
    digest text PRIMARY KEY,
    terms  json NOT NULL
);

CREATE TABLE dntd_items (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject text NOT NULL,
    item    json NOT NULL
);
CREATE INDEX dntd_items_subject ON dntd_items (subject, id);

CREATE TABLE dntd_sessions (
    relationship text NOT NULL,
    session      text NOT NULL,
    PRIMARY KEY (relationship, session)
);

-- Nonces are kept only against replay, until they expire.
CREATE TABLE dntd_nonces (
    nonce       text PRIMARY KEY,
    body_digest text NOT NULL,
    status      integer NOT NULL,
    answer      bytea,
    expires     timestamptz NOT NULL
);
CREATE INDEX dntd_nonces_expires ON dntd_nonces (expires);

CREATE FUNCTION dntd_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER dntd_records_append_only BEFORE UPDATE OR DELETE ON dntd_records
    FOR EACH ROW EXECUTE FUNCTION dntd_append_only();
CREATE TRIGGER dntd_record_ends_append_only BEFORE UPDATE OR DELETE ON dntd_record_ends
    FOR EACH ROW EXECUTE FUNCTION dntd_append_only();
CREATE TRIGGER dntd_history_append_only BEFORE UPDATE OR DELETE ON dntd_history
    FOR EACH ROW EXECUTE FUNCTION dntd_append_only();
