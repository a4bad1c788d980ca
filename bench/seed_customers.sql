-- Fills one company with :n realistic-looking customers, spread over three years.
-- psql -v company=<uuid> -v n=<count> -f bench/seed_customers.sql
--
-- A bulk load in one transaction: the per-row counter triggers are switched off for it
-- (session_replication_role = replica, superuser only) and the company's counters are
-- recomputed afterwards, since updating the same counter rows a million times in one
-- transaction would pile up row versions.
\set ON_ERROR_STOP on
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT set_config('bench.company', :'company', true);
WITH
  first AS (SELECT ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Margaret','Ken','Dennis','Radia',
                         'Frances','John','Sophie','Tim','Linus','Guido','Bjarne','Anders','Yukihiro','Hedy'] AS v),
  last  AS (SELECT ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Hamilton','Thompson','Ritchie',
                         'Perlman','Allen','McCarthy','Wilson','Berners-Lee','Torvalds','van Rossum','Stroustrup',
                         'Hejlsberg','Matsumoto','Lamarr'] AS v),
  orgs  AS (SELECT ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark Industries','Wayne Enterprises',
                         'Cyberdyne','Soylent','Tyrell'] AS v),
  tagset AS (SELECT ARRAY['vip','eu','us','b2b','b2c','partner','newsletter','trial','churn-risk','enterprise'] AS v),
  statuses AS (SELECT ARRAY['lead','prospect','active','inactive','churned'] AS v)
INSERT INTO crm.customers
    (id, company_id, name, email, phone, company_name, type, status, source, assigned_to,
     tags, metadata, created_by, created_at, updated_at)
SELECT
    gen_random_uuid(),
    :'company'::uuid,
    first.v[1 + i % 20] || ' ' || last.v[1 + (i / 20) % 20] || ' ' || i,
    lower(first.v[1 + i % 20] || '.' || replace(last.v[1 + (i / 20) % 20], ' ', '') || i || '@example.com'),
    '+1 ' || (201 + i % 797) || ' ' || lpad(((i::bigint * 7919) % 10000000)::text, 7, '0'),
    CASE WHEN i % 3 = 0 THEN orgs.v[1 + i % 10] END,
    CASE WHEN i % 4 = 0 THEN 'business' ELSE 'individual' END,
    statuses.v[1 + i % 5],
    (ARRAY['web','referral','event','ads'])[1 + i % 4],
    CASE WHEN i % 2 = 0 THEN ('00000000-0000-4000-8000-' || lpad((i % 50)::text, 12, '0'))::uuid END,
    ARRAY[tagset.v[1 + i % 10], tagset.v[1 + (i / 10) % 10]],
    jsonb_build_object('score', i % 100, 'tier', (ARRAY['gold','silver','bronze'])[1 + i % 3]),
    '00000000-0000-4000-8000-000000000001'::uuid,
    now() - (i % 1095) * interval '1 day' - (i % 86400) * interval '1 second',
    now() - (i % 365) * interval '1 day'
FROM generate_series(1, :n) AS i, first, last, orgs, tagset, statuses;

DELETE FROM crm.tag_counts WHERE company_id = :'company'::uuid;
INSERT INTO crm.tag_counts (company_id, tag, count)
SELECT company_id, t, count(*) FROM crm.customers, unnest(tags) t
 WHERE company_id = :'company'::uuid GROUP BY 1, 2;

-- Analytics counters, when their migration is applied.
DO $$
BEGIN
    IF to_regclass('crm.stat_counters') IS NOT NULL THEN
        DELETE FROM crm.stat_counters WHERE company_id = current_setting('bench.company')::uuid;
        DELETE FROM crm.daily_counts WHERE company_id = current_setting('bench.company')::uuid;
        INSERT INTO crm.stat_counters (company_id, metric, key, count)
        SELECT company_id, 'customers', '', count(*) FROM crm.customers
         WHERE company_id = current_setting('bench.company')::uuid GROUP BY 1
        UNION ALL
        SELECT company_id, 'customers.status', status, count(*) FROM crm.customers
         WHERE company_id = current_setting('bench.company')::uuid GROUP BY 1, 3
        UNION ALL
        SELECT company_id, 'customers.type', type, count(*) FROM crm.customers
         WHERE company_id = current_setting('bench.company')::uuid GROUP BY 1, 3
        UNION ALL
        SELECT company_id, 'customers.source', coalesce(source, ''), count(*) FROM crm.customers
         WHERE company_id = current_setting('bench.company')::uuid GROUP BY 1, 3
        UNION ALL
        SELECT company_id, 'customers.assigned', coalesce(assigned_to::text, ''), count(*)
          FROM crm.customers WHERE company_id = current_setting('bench.company')::uuid GROUP BY 1, 3;
        INSERT INTO crm.daily_counts (company_id, metric, day, count)
        SELECT company_id, 'customers.created', (created_at AT TIME ZONE 'UTC')::date, count(*)
          FROM crm.customers WHERE company_id = current_setting('bench.company')::uuid GROUP BY 1, 3;
    END IF;
END
$$;
COMMIT;
ANALYZE crm.customers;
