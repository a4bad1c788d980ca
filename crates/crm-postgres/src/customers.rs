//! The customer repository on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::pagination::SortKey;
use crm_domain::{
    CompanyId, Customer, CustomerFilter, CustomerId, CustomerQuery, CustomerRepository,
    CustomerSortField, DomainError, EventEnvelope, Ranked, SearchQuery, Tag, TagCount, TagQuery,
};
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::{BigInt, Bool, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::RunQueryDsl;
use serde_json::Value;

use crate::activities::write_with_events;
use crate::database::{same_company, Database};
use crate::models::CustomerRow;
use crate::schema::{customers, tag_counts};

/// [`CustomerRepository`] over the `crm.customers` table.
#[derive(Clone)]
pub struct PgCustomerRepository {
    db: Database,
    search_window: i64,
}

/// How many of a company's newest customers (by id) search reads to fill a page from the best
/// rank of a tier before it ranks the whole tier; see [`PgCustomerRepository::search`].
pub const SEARCH_WINDOW: i64 = 2_000;

impl PgCustomerRepository {
    /// A repository using `db`.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            search_window: SEARCH_WINDOW,
        }
    }

    /// Sets the search window (default [`SEARCH_WINDOW`]); results do not depend on it, only
    /// the work done to find them.
    #[must_use]
    pub fn with_search_window(mut self, rows: i64) -> Self {
        self.search_window = rows.max(1);
        self
    }
}

type BoxedCustomers = customers::BoxedQuery<'static, Pg>;

/// The company's customers narrowed by a filter (no order, cursor or limit).
fn filtered(company: CompanyId, filter: &CustomerFilter) -> BoxedCustomers {
    narrowed(
        customers::table
            .filter(customers::company_id.eq(company.as_uuid()))
            .into_boxed(),
        filter,
    )
}

/// `q` narrowed by a filter.
fn narrowed(mut q: BoxedCustomers, filter: &CustomerFilter) -> BoxedCustomers {
    let tag_strings = |tags: &[Tag]| {
        tags.iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    if let Some(status) = filter.status {
        q = q.filter(customers::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.customer_type {
        q = q.filter(customers::customer_type.eq(kind.as_str()));
    }
    if !filter.tags_any.is_empty() {
        q = q.filter(customers::tags.overlaps_with(tag_strings(&filter.tags_any)));
    }
    if !filter.tags_all.is_empty() {
        q = q.filter(customers::tags.contains(tag_strings(&filter.tags_all)));
    }
    if let Some(user) = filter.assigned_to {
        q = q.filter(customers::assigned_to.eq(user.as_uuid()));
    }
    if let Some(from) = filter.created_from {
        q = q.filter(customers::created_at.ge(from));
    }
    if let Some(to) = filter.created_to {
        q = q.filter(customers::created_at.le(to));
    }
    if let Some(from) = filter.updated_from {
        q = q.filter(customers::updated_at.ge(from));
    }
    if let Some(to) = filter.updated_to {
        q = q.filter(customers::updated_at.le(to));
    }
    if let Some(metadata) = &filter.metadata {
        q = q.filter(customers::metadata.contains(Value::Object(metadata.clone())));
    }
    q
}

/// Escapes `%`, `_` and `\` so the text matches literally inside a LIKE pattern.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The rank of a fragment match: an exact name beats a name prefix, which beats the fragment
/// anywhere; within each tier, closer names (trigram word similarity) come first. Tiers are a
/// million apart and similarity stays below that, so tiers never mix.
fn rank(text: &str) -> SqlLiteral<BigInt, impl QueryFragment<Pg> + Send + 'static> {
    let literal = like_literal(text);
    sql::<BigInt>("((CASE WHEN name_search = ")
        .bind::<Text, _>(text.to_owned())
        .sql(" THEN 3 WHEN name_search LIKE ")
        .bind::<Text, _>(format!("{literal}%"))
        .sql(" THEN 2 ELSE 1 END) * 1000000 + round(word_similarity(")
        .bind::<Text, _>(text.to_owned())
        .sql(", name_search) * 999999))::bigint")
}

/// Ranks of one tier are `tier × RANK_TIER` plus a similarity below `RANK_TIER`.
const RANK_TIER: i64 = 1_000_000;

/// The first `left` rows of `tier`, found among the company's `window` newest ids when they
/// hold that many rows of one rank that nothing outside the window can precede; `None`
/// otherwise, and the caller ranks the whole tier. This spares ranking thousands of matches
/// of a common word (a surname shared by 2% of a million customers) to show a page.
///
/// - After a cursor `(rank, id)` in this tier: the window is the newest ids below the
///   cursor's, and the page its rows of the cursor's rank, newest first. Rows that rank
///   higher come before the cursor; rows of that rank with a higher id are in the window.
/// - Otherwise: the window's rows best first; if the first `left` share one rank, they are
///   the page provided no row of the tier anywhere ranks higher, which is certain at the best
///   rank (similarity 1) and checked otherwise, by trigram word similarity through the
///   `name_search` index with pg_trgm's threshold raised to that rank.
#[allow(clippy::too_many_arguments)]
async fn best_of_window(
    conn: &mut diesel_async::AsyncPgConnection,
    company: CompanyId,
    filter: &CustomerFilter,
    text: &str,
    tier: Tier,
    after: Option<(i64, uuid::Uuid)>,
    window: i64,
    left: i64,
) -> QueryResult<Option<Vec<(CustomerRow, i64)>>> {
    #[derive(QueryableByName)]
    struct Bounds {
        #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
        low: Option<uuid::Uuid>,
        #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
        high: Option<uuid::Uuid>,
    }
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        value: String,
    }
    // The window: an index-only range of (company_id, id), newest first.
    let bounds = diesel::sql_query(
        "WITH w AS MATERIALIZED (SELECT id FROM crm.customers \
           WHERE company_id = $1 AND id < $2 ORDER BY company_id DESC, id DESC LIMIT $3) \
         SELECT (SELECT id FROM w ORDER BY id LIMIT 1) AS low, \
                (SELECT id FROM w ORDER BY id DESC LIMIT 1) AS high",
    )
    .bind::<SqlUuid, _>(company.as_uuid())
    .bind::<SqlUuid, _>(after.map_or(uuid::Uuid::max(), |(_, id)| id))
    .bind::<BigInt, _>(window)
    .get_result::<Bounds>(conn)
    .await?;
    let (Some(low), Some(high)) = (bounds.low, bounds.high) else {
        return Ok(None);
    };
    let mut q = tier
        .matching_unindexed(filtered(company, filter), text)
        .filter(customers::id.between(low, high));
    if let Some((rank_after, _)) = after {
        q = q.filter(rank(text).eq(rank_after));
    }
    let best = q
        .order((rank(text).desc(), customers::id.desc()))
        .limit(left)
        .select((CustomerRow::as_select(), rank(text)))
        .load::<(CustomerRow, i64)>(conn)
        .await?;
    let Some(best_rank) = <[_]>::first(&best).map(|(_, rank)| *rank) else {
        return Ok(None);
    };
    let full = i64::try_from(best.len()).unwrap_or(i64::MAX) >= left;
    if !full || best.iter().any(|(_, rank)| *rank != best_rank) {
        return Ok(None);
    }
    if after.is_some() || best_rank == tier.rank_top() {
        return Ok(Some(best));
    }
    // A higher rank needs a word similarity of at least (rank + 0.5) / 999,999 (ranks round
    // similarity × 999,999, in single precision: 0.1 below that covers its error, and no two
    // similarities, fractions of trigram counts, are that close).
    let needed = ((best_rank - tier.rank_floor()) as f64 + 0.4) / 999_999.0;
    let previous =
        diesel::sql_query("SELECT current_setting('pg_trgm.word_similarity_threshold') AS value")
            .get_result::<Setting>(conn)
            .await?;
    let set = |value: String| {
        diesel::sql_query(
            "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true) AS value",
        )
        .bind::<Text, _>(value)
    };
    set(needed.to_string()).get_result::<Setting>(conn).await?;
    // A count, not `LIMIT 1`: expecting many matches, the planner would scan the table for
    // the first one instead of asking the trigram index.
    // The company condition is written so that no index answers it: intersecting the trigram
    // candidates with a bitmap of the whole company (1,000,000 entries) cost 200 ms.
    let company_unindexed = customers::table
        .filter(
            sql::<Bool>("((company_id = ")
                .bind::<SqlUuid, _>(company.as_uuid())
                .sql(") IS TRUE)"),
        )
        .into_boxed();
    let higher = tier
        .matching_unindexed(narrowed(company_unindexed, filter), text)
        .filter(similar_name(text))
        .filter(rank(text).gt(best_rank))
        .count()
        .get_result::<i64>(conn)
        .await;
    set(previous.value).get_result::<Setting>(conn).await?;
    Ok((higher? == 0).then_some(best))
}

/// The lowest rank of the tier `rank` is in.
fn rank_tier_floor(rank: i64) -> i64 {
    rank.div_euclid(RANK_TIER) * RANK_TIER
}

/// The rank tiers of a fragment match (see [`rank`]), best first. Together they are exactly
/// the rows whose `search_text` contains the text: `search_text` begins with `name_search`.
#[derive(Debug, Clone, Copy)]
enum Tier {
    /// `name_search` is the text.
    Exact,
    /// `name_search` starts with the text (and is longer).
    Prefix,
    /// The text is elsewhere in `search_text`.
    Elsewhere,
}

impl Tier {
    /// Whether the tier may hold more rows than a window: the exact name never (its index
    /// gives the page directly); a name prefix if its index range holds at least `window`
    /// rows (counted up to that); the text elsewhere if it looks like a name (letters, spaces,
    /// hyphens, apostrophes): only ranking it would tell how many rows it has.
    async fn worth_a_window(
        self,
        conn: &mut diesel_async::AsyncPgConnection,
        company: CompanyId,
        text: &str,
        window: i64,
    ) -> QueryResult<bool> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        match self {
            Self::Exact => Ok(false),
            // Only a name-like text can match a name at similarity 1 (an email or phone
            // fragment would only pay for a window that cannot fill).
            Self::Elsewhere => Ok(text
                .chars()
                .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\''))),
            Self::Prefix => {
                let count = diesel::sql_query(
                    "SELECT count(*) AS n FROM (SELECT 1 FROM crm.customers \
                     WHERE company_id = $1 AND name_search LIKE $2 LIMIT $3) AS p",
                )
                .bind::<SqlUuid, _>(company.as_uuid())
                .bind::<Text, _>(format!("{}%", like_literal(text)))
                .bind::<BigInt, _>(window)
                .get_result::<Count>(conn)
                .await?;
                Ok(count.n >= window)
            }
        }
    }

    /// The best rank in the tier: similarity 1.
    fn rank_top(self) -> i64 {
        self.rank_floor() + RANK_TIER - 1
    }

    /// The tier's rows, by conditions no index answers (the same rows as
    /// [`Tier::matching`]): for reading a window of rows in id order.
    fn matching_unindexed(self, q: BoxedCustomers, text: &str) -> BoxedCustomers {
        match self {
            Self::Exact => self.matching(q, text),
            Self::Prefix => q.filter(
                sql::<Bool>("(starts_with(name_search, ")
                    .bind::<Text, _>(text.to_owned())
                    .sql(") AND name_search <> ")
                    .bind::<Text, _>(text.to_owned())
                    .sql(")"),
            ),
            Self::Elsewhere => q.filter(
                sql::<Bool>("(strpos(search_text, ")
                    .bind::<Text, _>(text.to_owned())
                    .sql(") > 0 AND NOT starts_with(name_search, ")
                    .bind::<Text, _>(text.to_owned())
                    .sql("))"),
            ),
        }
    }

    fn rank_floor(self) -> i64 {
        match self {
            Self::Exact => 3 * RANK_TIER,
            Self::Prefix => 2 * RANK_TIER,
            Self::Elsewhere => RANK_TIER,
        }
    }

    fn matching(self, q: BoxedCustomers, text: &str) -> BoxedCustomers {
        let prefix = format!("{}%", like_literal(text));
        match self {
            Self::Exact => q.filter(
                sql::<Bool>("(name_search = ")
                    .bind::<Text, _>(text.to_owned())
                    .sql(")"),
            ),
            Self::Prefix => q.filter(
                sql::<Bool>("(name_search LIKE ")
                    .bind::<Text, _>(prefix)
                    .sql(" AND name_search <> ")
                    .bind::<Text, _>(text.to_owned())
                    .sql(")"),
            ),
            Self::Elsewhere => q.filter(contains(text)).filter(
                sql::<Bool>("(NOT name_search LIKE ")
                    .bind::<Text, _>(prefix)
                    .sql(")"),
            ),
        }
    }
}

/// The fragment anywhere in the searchable text (trigram GIN index on `search_text`).
fn contains(text: &str) -> SqlLiteral<Bool, impl QueryFragment<Pg> + Send + 'static> {
    sql::<Bool>("(search_text LIKE ")
        .bind::<Text, _>(format!("%{}%", like_literal(text)))
        .sql(")")
}

/// Names within a typo of the text: trigram word similarity against the stored
/// `name_search` (at least pg_trgm's 0.6), answered by its GIN index.
fn similar_name(text: &str) -> SqlLiteral<Bool, impl QueryFragment<Pg> + Send + 'static> {
    sql::<Bool>("(")
        .bind::<Text, _>(text.to_owned())
        .sql(" <% name_search)")
}

/// The rank of a typo match: its word similarity, below every fragment match.
fn typo_rank(text: &str) -> SqlLiteral<BigInt, impl QueryFragment<Pg> + Send + 'static> {
    sql::<BigInt>("round(word_similarity(")
        .bind::<Text, _>(text.to_owned())
        .sql(", name_search) * 999999)::bigint")
}

/// Adds the keyset condition `(key, id) > / < (cursor key, cursor id)` as a row comparison,
/// which PostgreSQL answers with one index range scan.
fn after_cursor(q: BoxedCustomers, query: &CustomerQuery) -> Result<BoxedCustomers, DomainError> {
    let Some(cursor) = &query.after else {
        return Ok(q);
    };
    let op = if query.sort.descending { "<" } else { ">" };
    let row = |column: &str| sql::<Bool>(&format!("({column}, id) {op} ("));
    let id = cursor.id;
    Ok(match (query.sort.field, &cursor.key) {
        (CustomerSortField::CreatedAt, SortKey::Time(t)) => q.filter(
            row("created_at")
                .bind::<Timestamptz, _>(*t)
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        (CustomerSortField::UpdatedAt, SortKey::Time(t)) => q.filter(
            row("updated_at")
                .bind::<Timestamptz, _>(*t)
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        (CustomerSortField::Name, SortKey::Text(name)) => q.filter(
            row("name")
                .bind::<Text, _>(name.clone())
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        _ => {
            return Err(DomainError::invalid(
                "cursor",
                "is not a valid cursor for this query",
            ))
        }
    })
}

fn ordered(q: BoxedCustomers, query: &CustomerQuery) -> BoxedCustomers {
    use customers::{created_at, id, name, updated_at};
    match (query.sort.field, query.sort.descending) {
        (CustomerSortField::CreatedAt, false) => q.order((created_at.asc(), id.asc())),
        (CustomerSortField::CreatedAt, true) => q.order((created_at.desc(), id.desc())),
        (CustomerSortField::UpdatedAt, false) => q.order((updated_at.asc(), id.asc())),
        (CustomerSortField::UpdatedAt, true) => q.order((updated_at.desc(), id.desc())),
        (CustomerSortField::Name, false) => q.order((name.asc(), id.asc())),
        (CustomerSortField::Name, true) => q.order((name.desc(), id.desc())),
    }
}

fn to_domain(rows: Vec<CustomerRow>) -> Result<Vec<Customer>, DomainError> {
    rows.into_iter().map(Customer::try_from).collect()
}

#[async_trait]
impl CustomerRepository for PgCustomerRepository {
    async fn insert(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<(), DomainError> {
        let row = CustomerRow::from(customer);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::insert_into(customers::table)
                    .values(&row)
                    .execute(conn)
                    .await
            }
            .scope_boxed()
        })
        .await
        .map(|_| ())
    }

    async fn find(
        &self,
        company: CompanyId,
        id: CustomerId,
    ) -> Result<Option<Customer>, DomainError> {
        let row = self
            .db
            .tenant_tx(company, |conn| {
                async move {
                    customers::table
                        .filter(customers::company_id.eq(company.as_uuid()))
                        .filter(customers::id.eq(id.as_uuid()))
                        .select(CustomerRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                }
                .scope_boxed()
            })
            .await?;
        row.map(Customer::try_from).transpose()
    }

    async fn update(
        &self,
        company: CompanyId,
        after: &Customer,
        unmodified_since: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        let row = CustomerRow::from(after);
        same_company(company, row.company_id)?;
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::update(
                    customers::table
                        .filter(customers::company_id.eq(row.company_id))
                        .filter(customers::id.eq(row.id))
                        .filter(customers::updated_at.eq(unmodified_since)),
                )
                .set(&row)
                .execute(conn)
                .await
            }
            .scope_boxed()
        })
        .await
    }

    async fn delete(
        &self,
        company: CompanyId,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        // Notes, interactions and history go with it through ON DELETE CASCADE, in this
        // transaction.
        let id = customer.id.as_uuid();
        write_with_events(&self.db, company, events, move |conn| {
            async move {
                diesel::delete(
                    customers::table
                        .filter(customers::company_id.eq(company.as_uuid()))
                        .filter(customers::id.eq(id)),
                )
                .execute(conn)
                .await
            }
            .scope_boxed()
        })
        .await
    }

    async fn list(
        &self,
        company: CompanyId,
        query: CustomerQuery,
    ) -> Result<Vec<Customer>, DomainError> {
        let q = after_cursor(filtered(company, &query.filter), &query)?;
        let q = ordered(q, &query)
            .limit(i64::from(query.limit.get()) + 1)
            .select(CustomerRow::as_select());
        let rows = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        to_domain(rows)
    }

    async fn count(&self, company: CompanyId, filter: CustomerFilter) -> Result<u64, DomainError> {
        let q = filtered(company, &filter).count();
        let n: i64 = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.get_result(conn).await }.scope_boxed()
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Two phases: the fragment anywhere, best first and keyset-paged; and, only when that
    /// finds nothing on a first page, names within a typo of the text, one page of them.
    ///
    /// The first phase reads its rank tiers one at a time, best first — the exact name, then
    /// a name starting with the text (both by the `(company_id, name_search)` index), then the
    /// text anywhere else (the trigram index) — and stops as soon as the page is full: the
    /// result is that of one query ordered by rank, without ranking every match when the
    /// better tiers fill the page.
    async fn search(
        &self,
        company: CompanyId,
        query: SearchQuery,
    ) -> Result<Vec<Ranked>, DomainError> {
        let text = query.text.as_str();
        let wanted = usize::try_from(query.limit.get())
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        // Each tier to read, with the cursor when it is in that tier.
        let mut tiers = Vec::new();
        for tier in [Tier::Exact, Tier::Prefix, Tier::Elsewhere] {
            let mut q = tier.matching(filtered(company, &query.filter), text);
            let mut after_in_tier = None;
            if let Some((last_rank, last_id)) = query.after {
                match tier.rank_floor().cmp(&rank_tier_floor(last_rank)) {
                    // A better tier than the cursor's: already read.
                    std::cmp::Ordering::Greater => continue,
                    // Best first: after (rank, id) means a lower rank, or the same rank and a
                    // lower id.
                    std::cmp::Ordering::Equal => {
                        q = q.filter(
                            rank(text)
                                .lt(last_rank)
                                .or(rank(text).eq(last_rank).and(customers::id.lt(last_id))),
                        );
                        after_in_tier = Some((last_rank, last_id));
                    }
                    std::cmp::Ordering::Less => {}
                }
            }
            tiers.push((tier, q, after_in_tier));
        }
        let window = self.search_window;
        let filter = query.filter.clone();
        let text_owned = text.to_owned();
        // Typos are for names: a text without letters (a phone fragment) has no fallback.
        let typos = query.after.is_none() && text.chars().any(char::is_alphabetic);
        let nearest = typos.then(|| {
            filtered(company, &query.filter)
                .filter(similar_name(text))
                .order((typo_rank(text).desc(), customers::id.desc()))
                // Exactly one page: near names are a suggestion, not an endless list.
                .limit(i64::from(query.limit.get()))
                .select((CustomerRow::as_select(), typo_rank(text)))
        });
        let rows: Vec<(CustomerRow, i64)> = self
            .db
            .tenant_read_tx(company, |conn| {
                async move {
                    let text = text_owned.as_str();
                    let mut rows = Vec::with_capacity(wanted);
                    for (tier, q, after_in_tier) in tiers {
                        let left = i64::try_from(wanted - rows.len()).unwrap_or(i64::MAX);
                        if tier.worth_a_window(conn, company, text, window).await? {
                            let best = best_of_window(
                                conn,
                                company,
                                &filter,
                                text,
                                tier,
                                after_in_tier,
                                window,
                                left,
                            )
                            .await?;
                            if let Some(best) = best {
                                rows.extend(best);
                                break;
                            }
                        }
                        let tier_rows = q
                            .order((rank(text).desc(), customers::id.desc()))
                            .limit(left)
                            .select((CustomerRow::as_select(), rank(text)))
                            .load::<(CustomerRow, i64)>(conn)
                            .await?;
                        rows.extend(tier_rows);
                        if rows.len() >= wanted {
                            break;
                        }
                    }
                    match nearest {
                        Some(nearest) if rows.is_empty() => nearest.load(conn).await,
                        _ => Ok(rows),
                    }
                }
                .scope_boxed()
            })
            .await?;
        rows.into_iter()
            .map(|(row, rank)| {
                Ok(Ranked {
                    customer: Customer::try_from(row)?,
                    rank,
                })
            })
            .collect()
    }

    async fn tag_counts(
        &self,
        company: CompanyId,
        query: TagQuery,
    ) -> Result<Vec<TagCount>, DomainError> {
        let mut q = tag_counts::table
            .filter(tag_counts::company_id.eq(company.as_uuid()))
            .into_boxed();
        if let Some((count, tag)) = query.after {
            // Most used first, then by tag: after (count, tag) means fewer uses, or as many
            // and a later tag.
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            q = q.filter(
                tag_counts::count
                    .lt(count)
                    .or(tag_counts::count.eq(count).and(tag_counts::tag.gt(tag))),
            );
        }
        let q = q
            .order((tag_counts::count.desc(), tag_counts::tag.asc()))
            .limit(i64::from(query.limit.get()) + 1)
            .select((tag_counts::tag, tag_counts::count));
        let rows: Vec<(String, i64)> = self
            .db
            .tenant_read_tx(company, |conn| {
                async move { q.load(conn).await }.scope_boxed()
            })
            .await?;
        rows.into_iter()
            .map(|(tag, count)| {
                Ok(TagCount {
                    tag: Tag::parse(&tag).map_err(|e| {
                        DomainError::Internal(format!("unexpected tag in database: {e}"))
                    })?,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }
}
