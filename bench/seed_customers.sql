-- Fills one company with :n realistic-looking customers, spread over three years.
-- psql -v company=<uuid> -v n=<count> -f bench/seed_customers.sql
\set ON_ERROR_STOP on
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
    '+1 555 ' || lpad(i::text, 7, '0'),
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
ANALYZE crm.customers;
