//! Analytics: company totals, the dashboard, per-user performance and a customer's activity.
//! Every figure is aggregated by the store (counters kept in the writing transaction, or
//! grouped queries), never by loading rows into the service.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::actor::Actor;
use crate::customer::{require_customer, CustomerRepository, TagCount, TagQuery};
use crate::error::DomainError;
use crate::ids::{CompanyId, CustomerId, InteractionId, UserId};
use crate::interaction::InteractionType;
use crate::pagination::PageLimit;

/// Counts by a key (status, type, source...), sorted by key.
pub type Breakdown = BTreeMap<String, u64>;

/// Company-wide totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompanyStats {
    /// All customers.
    pub customers_total: u64,
    /// Customers by status.
    pub customers_by_status: Breakdown,
    /// Customers by type.
    pub customers_by_type: Breakdown,
    /// Customers by source (`""` for none).
    pub customers_by_source: Breakdown,
    /// Notes the viewer can see: public ones and their own private ones.
    pub notes_total: u64,
    /// All interactions.
    pub interactions_total: u64,
    /// Interactions by type.
    pub interactions_by_type: Breakdown,
    /// Interactions by status.
    pub interactions_by_status: Breakdown,
    /// Customers created today and the 6 days before (UTC days).
    pub new_customers_last_7_days: u64,
    /// Customers created today and the 29 days before (UTC days).
    pub new_customers_last_30_days: u64,
}

/// One UTC day of the dashboard series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DailyPoint {
    /// The day.
    pub day: NaiveDate,
    /// Customers created that day.
    pub new_customers: u64,
    /// Interactions created that day.
    pub interactions_created: u64,
    /// Interactions completed that day.
    pub interactions_completed: u64,
}

/// A scheduled interaction, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScheduledItem {
    /// The interaction.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: InteractionId,
    /// Its customer.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub customer_id: CustomerId,
    /// Its channel.
    #[serde(rename = "type")]
    pub interaction_type: InteractionType,
    /// Its subject.
    pub subject: String,
    /// When it is (was) due.
    pub scheduled_at: DateTime<Utc>,
}

/// A count and the first few items.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bucket {
    /// How many in all.
    pub count: u64,
    /// The first few, soonest (or longest overdue) first.
    pub items: Vec<ScheduledItem>,
}

/// The dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// One point per day, oldest first, zero for empty days.
    pub series: Vec<DailyPoint>,
    /// Scheduled in the next seven days.
    pub upcoming: Bucket,
    /// Scheduled in the past and neither completed nor cancelled.
    pub overdue: Bucket,
    /// Most used tags.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<TagCountSchema>))]
    pub top_tags: Vec<TagCount>,
}

/// One user's figures over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserPerformance {
    /// The user.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub user_id: UserId,
    /// Interactions they created in the period.
    pub interactions_created: u64,
    /// Their interactions completed in the period.
    pub interactions_completed: u64,
    /// Average duration of those, in minutes.
    pub average_duration_minutes: Option<f64>,
    /// Customers assigned to them now.
    pub customers_assigned: u64,
    /// Customers moved to `active` in the period, credited to the assignee (else who moved it).
    pub customers_won: u64,
}

/// A customer's activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerActivity {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub customer_id: CustomerId,
    /// Notes the viewer can see.
    pub notes_total: u64,
    /// Those by type.
    pub notes_by_type: Breakdown,
    /// All interactions.
    pub interactions_total: u64,
    /// By type.
    pub interactions_by_type: Breakdown,
    /// By status.
    pub interactions_by_status: Breakdown,
    /// The latest completed interaction's completion time.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// Whole days since then.
    pub days_since_last_contact: Option<i64>,
    /// The next scheduled interaction from now.
    pub next_scheduled_at: Option<DateTime<Utc>>,
}

/// The store's aggregations.
///
/// # Errors
/// [`DomainError::Unavailable`] or [`DomainError::Internal`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StatsRepository: Send + Sync + 'static {
    /// Company totals (notes as `viewer` may see them); new-customer windows end at `today`.
    async fn company(
        &self,
        company: CompanyId,
        viewer: UserId,
        today: NaiveDate,
    ) -> Result<CompanyStats, DomainError>;

    /// The days from `from` to `to` (inclusive) that have any activity, in any order.
    async fn daily(
        &self,
        company: CompanyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyPoint>, DomainError>;

    /// Interactions still `scheduled` with `scheduled_at` in `[from, to)` (`from` unbounded
    /// when `None`): their count and the first `first` by `scheduled_at`.
    async fn scheduled(
        &self,
        company: CompanyId,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        first: u32,
    ) -> Result<Bucket, DomainError>;

    /// Per-user figures over `[from, to]`.
    async fn performance(
        &self,
        company: CompanyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UserPerformance>, DomainError>;

    /// One customer's activity as `viewer` may see it (without `days_since_last_contact`).
    async fn customer_activity(
        &self,
        company: CompanyId,
        customer: CustomerId,
        viewer: UserId,
        now: DateTime<Utc>,
    ) -> Result<CustomerActivity, DomainError>;
}

/// The OpenAPI shape of a [`TagCount`].
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(as = TagCount)]
pub struct TagCountSchema {
    /// The tag.
    pub tag: String,
    /// Customers carrying it.
    pub count: u64,
}

/// Dashboard series length: 1 to 365 days, default 30.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardDays(u32);

impl DashboardDays {
    /// Default length.
    pub const DEFAULT: u32 = 30;
    /// Longest series.
    pub const MAX: u32 = 365;

    /// Validates a requested length.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `days`.
    pub fn new(days: Option<u32>) -> Result<Self, DomainError> {
        match days.unwrap_or(Self::DEFAULT) {
            n @ 1..=Self::MAX => Ok(Self(n)),
            _ => Err(DomainError::invalid(
                "days",
                format!("must be between 1 and {}", Self::MAX),
            )),
        }
    }

    /// The number of days.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// Longest performance period.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Items listed in each dashboard bucket.
pub const BUCKET_ITEMS: u32 = 5;
/// Tags on the dashboard.
pub const TOP_TAGS: u32 = 10;

/// The analytics use cases. Everyone in the company reads them; notes are counted as the
/// caller may see them.
#[derive(Clone)]
pub struct StatsService {
    stats: Arc<dyn StatsRepository>,
    customers: Arc<dyn CustomerRepository>,
}

impl StatsService {
    /// A service over the given ports.
    pub fn new(stats: Arc<dyn StatsRepository>, customers: Arc<dyn CustomerRepository>) -> Self {
        Self { stats, customers }
    }

    /// Company totals.
    ///
    /// # Errors
    /// The store's errors.
    pub async fn company(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<CompanyStats, DomainError> {
        self.stats
            .company(actor.company(), actor.user(), now.date_naive())
            .await
    }

    /// The dashboard for the last `days` days (today included).
    ///
    /// # Errors
    /// The store's errors.
    pub async fn dashboard(
        &self,
        actor: &Actor,
        days: DashboardDays,
        now: DateTime<Utc>,
    ) -> Result<Dashboard, DomainError> {
        let company = actor.company();
        let to = now.date_naive();
        let from = to - Duration::days(i64::from(days.get()) - 1);
        let points = self.stats.daily(company, from, to).await?;
        let upcoming = self
            .stats
            .scheduled(company, Some(now), now + Duration::days(7), BUCKET_ITEMS)
            .await?;
        let overdue = self
            .stats
            .scheduled(company, None, now, BUCKET_ITEMS)
            .await?;
        let tags = TagQuery {
            limit: PageLimit::new(Some(TOP_TAGS))?,
            after: None,
        };
        let mut top_tags = self.customers.tag_counts(company, tags).await?;
        top_tags.truncate(TOP_TAGS as usize);
        Ok(Dashboard {
            series: zero_filled(from, to, &points),
            upcoming,
            overdue,
            top_tags,
        })
    }

    /// Per-user performance over `[from, to]`.
    ///
    /// # Errors
    /// [`DomainError::Validation`] when `from` is after `to` or the period is longer than
    /// [`MAX_PERIOD_DAYS`].
    pub async fn performance(
        &self,
        actor: &Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UserPerformance>, DomainError> {
        if from > to {
            return Err(DomainError::invalid("from", "must not be after to"));
        }
        if to - from > Duration::days(MAX_PERIOD_DAYS) {
            return Err(DomainError::invalid(
                "to",
                format!("the period may cover at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        self.stats.performance(actor.company(), from, to).await
    }

    /// A customer's activity.
    ///
    /// # Errors
    /// [`DomainError::NotFound`] (`customer`).
    pub async fn customer_activity(
        &self,
        actor: &Actor,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<CustomerActivity, DomainError> {
        require_customer(self.customers.as_ref(), actor, customer).await?;
        let mut activity = self
            .stats
            .customer_activity(actor.company(), customer, actor.user(), now)
            .await?;
        activity.days_since_last_contact = activity.last_contact_at.map(|t| (now - t).num_days());
        Ok(activity)
    }
}

/// One point per day from `from` to `to`, taking the known points and zero elsewhere.
pub fn zero_filled(from: NaiveDate, to: NaiveDate, known: &[DailyPoint]) -> Vec<DailyPoint> {
    let by_day: BTreeMap<NaiveDate, &DailyPoint> = known.iter().map(|p| (p.day, p)).collect();
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|day| {
            by_day.get(&day).map_or(
                DailyPoint {
                    day,
                    new_customers: 0,
                    interactions_created: 0,
                    interactions_completed: 0,
                },
                |p| **p,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn series_are_zero_filled_oldest_first() {
        let known = [DailyPoint {
            day: day("2026-03-02"),
            new_customers: 4,
            interactions_created: 1,
            interactions_completed: 0,
        }];
        let s = zero_filled(day("2026-03-01"), day("2026-03-03"), &known);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].day, day("2026-03-01"));
        assert_eq!(s[0].new_customers, 0);
        assert_eq!(s[1], known[0]);
        assert_eq!(s[2].interactions_created, 0);
    }

    #[test]
    fn dashboard_days_bounds() {
        assert_eq!(DashboardDays::new(None).unwrap().get(), 30);
        assert!(DashboardDays::new(Some(0)).is_err());
        assert!(DashboardDays::new(Some(366)).is_err());
        assert_eq!(DashboardDays::new(Some(365)).unwrap().get(), 365);
    }

    #[tokio::test]
    async fn performance_periods_are_checked() {
        let mut stats = MockStatsRepository::new();
        stats.expect_performance().never();
        let svc = StatsService::new(
            Arc::new(stats),
            Arc::new(crate::customer::MockCustomerRepository::new()),
        );
        let a = Actor::new(
            UserId::new_random(),
            CompanyId::new_random(),
            crate::Role::User,
        );
        let now = Utc::now();
        assert!(svc
            .performance(&a, now, now - Duration::days(1))
            .await
            .is_err());
        assert!(svc
            .performance(&a, now - Duration::days(400), now)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn the_dashboard_asks_for_the_right_windows() {
        let now: DateTime<Utc> = "2026-05-10T12:00:00Z".parse().unwrap();
        let mut stats = MockStatsRepository::new();
        stats
            .expect_daily()
            .withf(|_, from, to| {
                *from == "2026-05-04".parse::<NaiveDate>().unwrap()
                    && *to == "2026-05-10".parse::<NaiveDate>().unwrap()
            })
            .returning(|_, _, _| Ok(vec![]));
        stats
            .expect_scheduled()
            .withf(move |_, from, to, _| *from == Some(now) && *to == now + Duration::days(7))
            .times(1)
            .returning(|_, _, _, _| {
                Ok(Bucket {
                    count: 2,
                    items: vec![],
                })
            });
        stats
            .expect_scheduled()
            .withf(move |_, from, to, _| from.is_none() && *to == now)
            .times(1)
            .returning(|_, _, _, _| {
                Ok(Bucket {
                    count: 1,
                    items: vec![],
                })
            });
        let mut customers = crate::customer::MockCustomerRepository::new();
        customers.expect_tag_counts().returning(|_, _| Ok(vec![]));
        let svc = StatsService::new(Arc::new(stats), Arc::new(customers));
        let a = Actor::new(
            UserId::new_random(),
            CompanyId::new_random(),
            crate::Role::User,
        );
        let d = svc
            .dashboard(&a, DashboardDays::new(Some(7)).unwrap(), now)
            .await
            .unwrap();
        assert_eq!(d.series.len(), 7);
        assert_eq!(d.upcoming.count, 2);
        assert_eq!(d.overdue.count, 1);
    }
}
