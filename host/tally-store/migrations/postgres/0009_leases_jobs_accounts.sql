-- Who polls a license server: a node claims the server's next poll until `expires` and renews it
-- at each poll, so two `tally serve` processes on one database never poll one server in the
-- same interval, and another takes over once the holder stops renewing (it died).
CREATE TABLE poll_lease (
    server_id BIGINT NOT NULL PRIMARY KEY,
    holder VARCHAR(128) NOT NULL,
    expires BIGINT NOT NULL
);

-- Import jobs started through the API, kept across restarts (a job whose process died is
-- failed at the next start). `summary` is the JSON the job's import printed.
CREATE TABLE import_job (
    id BIGSERIAL PRIMARY KEY,
    state VARCHAR(16) NOT NULL,
    name VARCHAR(255) NOT NULL,
    server VARCHAR(255),
    holder VARCHAR(128) NOT NULL,
    bytes_total BIGINT NOT NULL DEFAULT 0,
    bytes_done BIGINT NOT NULL DEFAULT 0,
    summary TEXT,
    error TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    finished BIGINT
);
CREATE INDEX import_job_state ON import_job (state);

-- Servers hidden from the grid and reports' server lists (their history stays).
ALTER TABLE license_server ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;

-- Local accounts (passwords hashed with argon2id), their API tokens and browser sessions
-- (both stored as the sha256 of the secret, which is random and long: only its holder knows it).
CREATE TABLE account (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(128) NOT NULL UNIQUE,
    role VARCHAR(16) NOT NULL,
    password_hash VARCHAR(255),
    created BIGINT NOT NULL
);
CREATE TABLE api_token (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    name VARCHAR(128) NOT NULL,
    scope VARCHAR(16) NOT NULL,
    secret_hash VARCHAR(64) NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    last_used BIGINT
);
CREATE TABLE web_session (
    secret_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    csrf VARCHAR(64) NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
