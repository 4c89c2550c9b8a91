-- Vendored copy of shared/workloads/accounts.sql (the reference workload),
-- so the demo, tests and benches work in a clone without shared/ beside it.
-- Keep it byte-identical to the original below this header.
-- Reference workload: the "accounts" table of the tuning guides (ACCT_ID as
-- business key). Deterministic for a given row count.
--
--   psql -v rows=5000000 -f accounts.sql        (source database)
--
-- 5,000,000 rows: about 965 MB heap + 107 MB primary key; about 870 MB as CSV.
\set ON_ERROR_STOP on
SET client_min_messages TO warning;
DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (
    acct_id        bigint PRIMARY KEY,
    customer_name  text NOT NULL,
    email          text,
    balance        numeric(14,2),
    opened_at      timestamptz,
    status         char(1),
    branch_id      int,
    notes          text,            -- about 30% NULL
    tags           jsonb
);
ALTER TABLE accounts SET (autovacuum_enabled = false);
SELECT setseed(0.42);
INSERT INTO accounts
SELECT g,
       initcap(substr(md5(g::text), 1, 6 + (g % 5))) || ' ' ||
       initcap(substr(md5((g * 7)::text), 1, 5 + ((g / 5) % 5))),
       substr(md5(g::text || 'e'), 1, 8) || g::text || '@example.org',
       round((random() * 200000 - 20000)::numeric, 2),
       timestamptz '2010-01-01 00:00:00+00' + random() * interval '5000 days',
       (array['A','A','A','C','F','P'])[1 + (g % 6)],
       1 + (g * 31) % 500,
       CASE WHEN random() < 0.30 THEN NULL
            ELSE substr('note ' || md5(g::text || 'n') || md5(g::text || 'm'), 1, 30 + (g % 21)) END,
       jsonb_build_object('tier', (array['gold','silver','bronze'])[1 + g % 3],
                          'score', g % 100, 'vip', (g % 10 = 0))
FROM generate_series(1, :rows) g;
ALTER TABLE accounts RESET (autovacuum_enabled);
VACUUM (FREEZE, ANALYZE) accounts;
