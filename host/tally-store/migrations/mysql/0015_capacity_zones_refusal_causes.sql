-- Numbers a site can act on (issue 21). See migrations/sqlite/0015 for what each part is.
ALTER TABLE license_server ADD COLUMN time_zone VARCHAR(64);

ALTER TABLE denial ADD COLUMN cause VARCHAR(16);
INSERT INTO store_state (name, value) VALUES ('refusals', 'classify');

CREATE TABLE capacity (
    id             BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id      BIGINT NOT NULL,
    feature_id     BIGINT NOT NULL,
    source         VARCHAR(16) NOT NULL,
    pool           VARCHAR(255) NOT NULL DEFAULT '',
    version        VARCHAR(255),
    issued         BIGINT,
    valid_from     BIGINT,
    valid_to       BIGINT,
    import_run_id  BIGINT,
    created_at     BIGINT NOT NULL,
    INDEX capacity_feature (feature_id, source),
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
