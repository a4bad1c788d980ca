-- Core CRM tables. Every table lives in the `crm` schema ("shared database with schema
-- isolation") and carries `company_id`; child rows reference their customer through
-- (company_id, customer_id), so a note can never point at another company's customer.

CREATE SCHEMA IF NOT EXISTS crm;

CREATE TABLE crm.customers (
    id           uuid        PRIMARY KEY,
    company_id   uuid        NOT NULL,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email        text        CHECK (email IS NULL OR char_length(email) <= 254),
    phone        text        CHECK (phone IS NULL OR char_length(phone) <= 50),
    company_name text        CHECK (company_name IS NULL OR char_length(company_name) <= 200),
    type         text        NOT NULL DEFAULT 'individual'
                             CHECK (type IN ('individual', 'business')),
    status       text        NOT NULL DEFAULT 'lead'
                             CHECK (status IN ('lead', 'prospect', 'active', 'inactive', 'churned')),
    source       text        CHECK (source IS NULL OR char_length(source) <= 100),
    assigned_to  uuid,
    address      jsonb       CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),
    tags         text[]      NOT NULL DEFAULT '{}',
    metadata     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_company_id_id_key UNIQUE (company_id, id)
);

-- Email is unique per company, case-insensitively. The adapter maps a violation of this
-- index (by name) to a domain Conflict.
CREATE UNIQUE INDEX customers_company_email_key
    ON crm.customers (company_id, lower(email)) WHERE email IS NOT NULL;

-- Keyset pagination: one index per sort key, ending in id (the tie breaker). Scanned
-- backwards for descending sorts.
CREATE INDEX customers_company_created_idx ON crm.customers (company_id, created_at, id);
CREATE INDEX customers_company_updated_idx ON crm.customers (company_id, updated_at, id);
CREATE INDEX customers_company_name_idx    ON crm.customers (company_id, name, id);
CREATE INDEX customers_company_status_idx  ON crm.customers (company_id, status, created_at, id);
CREATE INDEX customers_company_assigned_idx
    ON crm.customers (company_id, assigned_to, created_at, id) WHERE assigned_to IS NOT NULL;
CREATE INDEX customers_tags_idx ON crm.customers USING gin (tags);

CREATE TABLE crm.customer_notes (
    id          uuid        PRIMARY KEY,
    company_id  uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    content     text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 10000),
    type        text        NOT NULL DEFAULT 'general'
                            CHECK (type IN ('general', 'call', 'meeting', 'email', 'follow_up')),
    is_private  boolean     NOT NULL DEFAULT false,
    created_by  uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, customer_id)
        REFERENCES crm.customers (company_id, id) ON DELETE CASCADE
);

CREATE INDEX customer_notes_customer_idx
    ON crm.customer_notes (company_id, customer_id, created_at, id);

CREATE TABLE crm.customer_interactions (
    id               uuid        PRIMARY KEY,
    company_id       uuid        NOT NULL,
    customer_id      uuid        NOT NULL,
    type             text        NOT NULL
                                 CHECK (type IN ('call', 'email', 'meeting', 'task', 'sms', 'other')),
    direction        text        CHECK (direction IN ('inbound', 'outbound')),
    subject          text        NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 500),
    description      text        CHECK (description IS NULL OR char_length(description) <= 10000),
    scheduled_at     timestamptz,
    completed_at     timestamptz,
    duration_minutes integer     CHECK (duration_minutes BETWEEN 0 AND 10080),
    outcome          text        CHECK (outcome IS NULL OR char_length(outcome) <= 2000),
    status           text        NOT NULL DEFAULT 'scheduled'
                                 CHECK (status IN ('scheduled', 'completed', 'cancelled')),
    created_by       uuid        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, customer_id)
        REFERENCES crm.customers (company_id, id) ON DELETE CASCADE
);

CREATE INDEX customer_interactions_customer_idx
    ON crm.customer_interactions (company_id, customer_id, created_at, id);
CREATE INDEX customer_interactions_schedule_idx
    ON crm.customer_interactions (company_id, status, scheduled_at);

-- Per-customer aggregates. security_invoker makes the view obey the caller's row-level
-- security, so it can never widen what a tenant sees.
CREATE VIEW crm.customer_stats WITH (security_invoker = true) AS
SELECT
    c.company_id,
    c.id AS customer_id,
    (SELECT count(*) FROM crm.customer_notes n
      WHERE n.company_id = c.company_id AND n.customer_id = c.id) AS notes_count,
    (SELECT count(*) FROM crm.customer_notes n
      WHERE n.company_id = c.company_id AND n.customer_id = c.id AND NOT n.is_private)
        AS public_notes_count,
    (SELECT count(*) FROM crm.customer_interactions i
      WHERE i.company_id = c.company_id AND i.customer_id = c.id) AS interactions_count,
    (SELECT max(i.completed_at) FROM crm.customer_interactions i
      WHERE i.company_id = c.company_id AND i.customer_id = c.id AND i.status = 'completed')
        AS last_contact_at,
    (SELECT min(i.scheduled_at) FROM crm.customer_interactions i
      WHERE i.company_id = c.company_id AND i.customer_id = c.id AND i.status = 'scheduled'
        AND i.scheduled_at >= now()) AS next_scheduled_at
FROM crm.customers c;
