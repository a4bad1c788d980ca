//! Segments (after HubSpot's dynamic lists): a name and a saved [`CustomerFilter`] whose
//! members are computed live.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use serde::Serialize;

use crate::actor::{Actor, Role};
use crate::clock;
use crate::customer::{Customer, CustomerFilter, CustomerQuery, CustomerRepository, CustomerSort};
use crate::error::{DomainError, FieldError};
use crate::ids::{CompanyId, SegmentId, UserId};
use crate::pagination::{Cursor, Page, PageLimit, Window};
use crate::retry::{optimistic, Attempt};

const SEGMENT: &str = "segment";

/// A saved filter over a company's customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// Identifier.
    pub id: SegmentId,
    /// The tenant.
    pub company_id: CompanyId,
    /// Unique per company (case-insensitively), 1–100 characters.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Which customers belong to it.
    pub filter: CustomerFilter,
    /// Who made it.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A segment with its current number of members.
#[derive(Debug, Clone, PartialEq)]
pub struct CountedSegment {
    /// The segment.
    pub segment: Segment,
    /// Customers matching its filter now.
    pub member_count: u64,
}

fn check(report: Result<(), garde::Report>, name: Option<&str>) -> Result<(), DomainError> {
    let mut errors = match report.map_err(DomainError::from) {
        Err(DomainError::Validation(errors)) => errors,
        _ => Vec::new(),
    };
    if name.is_some_and(|n| !n.is_empty() && n.trim().is_empty()) {
        errors.push(FieldError::new("name", "must not be blank"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors))
    }
}

fn check_filter(filter: &CustomerFilter) -> Result<(), DomainError> {
    filter.check().map_err(|e| match e {
        DomainError::Validation(errors) => DomainError::Validation(
            errors
                .into_iter()
                .map(|f| FieldError::new(format!("filter.{}", f.field), f.message))
                .collect(),
        ),
        other => other,
    })
}

/// Input for a new segment.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct CreateSegment {
    /// 1–100 characters.
    #[garde(length(chars, min = 1, max = 100))]
    pub name: String,
    /// At most 1,000 characters.
    #[garde(length(chars, max = 1000))]
    pub description: Option<String>,
    /// The saved filter.
    #[garde(skip)]
    pub filter: CustomerFilter,
}

/// A partial change of a segment.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct UpdateSegment {
    /// New name.
    #[garde(length(chars, min = 1, max = 100))]
    pub name: Option<String>,
    /// New or cleared description.
    #[garde(length(chars, max = 1000))]
    pub description: Option<Option<String>>,
    /// Replacement filter.
    #[garde(skip)]
    pub filter: Option<CustomerFilter>,
}

/// Storage of segments, scoped to one company.
///
/// # Errors
/// Every method may fail with [`DomainError::Unavailable`] or [`DomainError::Internal`];
/// `insert` and `update` with [`DomainError::Conflict`] when the name is taken.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SegmentRepository: Send + Sync + 'static {
    /// Stores a new segment.
    async fn insert(&self, company: CompanyId, segment: &Segment) -> Result<(), DomainError>;
    /// The segment `id` of `company`.
    async fn find(&self, company: CompanyId, id: SegmentId)
        -> Result<Option<Segment>, DomainError>;
    /// Replaces it if unchanged since `unmodified_since`; `false` when gone or changed.
    async fn update(
        &self,
        company: CompanyId,
        after: &Segment,
        unmodified_since: DateTime<Utc>,
    ) -> Result<bool, DomainError>;
    /// Deletes it; `false` when already gone.
    async fn delete(&self, company: CompanyId, id: SegmentId) -> Result<bool, DomainError>;
    /// Up to `window.limit + 1` segments, newest first, after the window's position.
    async fn list(&self, company: CompanyId, window: Window) -> Result<Vec<Segment>, DomainError>;
}

/// Segment use cases. Everyone in the company reads segments and their members and creates
/// segments; the creator, managers and admins change and delete one.
#[derive(Clone)]
pub struct SegmentService {
    segments: Arc<dyn SegmentRepository>,
    customers: Arc<dyn CustomerRepository>,
}

impl SegmentService {
    /// A service over the given ports.
    pub fn new(
        segments: Arc<dyn SegmentRepository>,
        customers: Arc<dyn CustomerRepository>,
    ) -> Self {
        Self {
            segments,
            customers,
        }
    }

    /// Whether `actor` may change or delete `segment`.
    pub fn may_change(actor: &Actor, segment: &Segment) -> bool {
        segment.created_by == actor.user() || actor.role().is_at_least(Role::Manager)
    }

    async fn counted(
        &self,
        actor: &Actor,
        segment: Segment,
    ) -> Result<CountedSegment, DomainError> {
        let member_count = self
            .customers
            .count(actor.company(), segment.filter.clone())
            .await?;
        Ok(CountedSegment {
            segment,
            member_count,
        })
    }

    /// Creates a segment.
    ///
    /// # Errors
    /// [`DomainError::Validation`]; [`DomainError::Conflict`] for a taken name.
    pub async fn create(
        &self,
        actor: &Actor,
        cmd: CreateSegment,
    ) -> Result<CountedSegment, DomainError> {
        check(cmd.validate(), Some(&cmd.name))?;
        check_filter(&cmd.filter)?;
        let now = clock::now();
        let segment = Segment {
            id: SegmentId::new_random(),
            company_id: actor.company(),
            name: cmd.name.trim().to_owned(),
            description: cmd
                .description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            filter: cmd.filter,
            created_by: actor.user(),
            created_at: now,
            updated_at: now,
        };
        self.segments.insert(actor.company(), &segment).await?;
        self.counted(actor, segment).await
    }

    async fn find(&self, actor: &Actor, id: SegmentId) -> Result<Segment, DomainError> {
        self.segments
            .find(actor.company(), id)
            .await?
            .ok_or(DomainError::NotFound { entity: SEGMENT })
    }

    /// One segment with its member count.
    ///
    /// # Errors
    /// [`DomainError::NotFound`].
    pub async fn get(&self, actor: &Actor, id: SegmentId) -> Result<CountedSegment, DomainError> {
        let segment = self.find(actor, id).await?;
        self.counted(actor, segment).await
    }

    /// The company's segments, newest first, each with its member count.
    ///
    /// # Errors
    /// The repositories' errors.
    pub async fn list(
        &self,
        actor: &Actor,
        window: Window,
    ) -> Result<Page<CountedSegment>, DomainError> {
        let rows = self.segments.list(actor.company(), window.clone()).await?;
        let page = window.page(rows, |s| (s.created_at, s.id.as_uuid()));
        let mut items = Vec::with_capacity(page.items.len());
        for segment in page.items {
            items.push(self.counted(actor, segment).await?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
            total_count: None,
        })
    }

    /// Changes the fields present.
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`], [`DomainError::Validation`],
    /// [`DomainError::Conflict`].
    pub async fn update(
        &self,
        actor: &Actor,
        id: SegmentId,
        cmd: UpdateSegment,
    ) -> Result<CountedSegment, DomainError> {
        check(cmd.validate(), cmd.name.as_deref())?;
        if let Some(filter) = &cmd.filter {
            check_filter(filter)?;
        }
        let segment = optimistic(|| async {
            let before = self.find(actor, id).await?;
            if !Self::may_change(actor, &before) {
                return Err(DomainError::Forbidden(
                    "only its creator, managers and admins change a segment".into(),
                ));
            }
            let mut after = before.clone();
            if let Some(name) = &cmd.name {
                name.trim().clone_into(&mut after.name);
            }
            if let Some(description) = &cmd.description {
                after.description = description
                    .as_ref()
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty());
            }
            if let Some(filter) = &cmd.filter {
                after.filter = filter.clone();
            }
            if after == before {
                return Ok(Attempt::Done(before));
            }
            after.updated_at = clock::after(before.updated_at);
            if self
                .segments
                .update(actor.company(), &after, before.updated_at)
                .await?
            {
                Ok(Attempt::Done(after))
            } else {
                Ok(Attempt::Retry)
            }
        })
        .await?;
        self.counted(actor, segment).await
    }

    /// Deletes a segment (its customers are untouched).
    ///
    /// # Errors
    /// [`DomainError::NotFound`], [`DomainError::Forbidden`].
    pub async fn delete(&self, actor: &Actor, id: SegmentId) -> Result<(), DomainError> {
        let segment = self.find(actor, id).await?;
        if !Self::may_change(actor, &segment) {
            return Err(DomainError::Forbidden(
                "only its creator, managers and admins delete a segment".into(),
            ));
        }
        if self.segments.delete(actor.company(), id).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound { entity: SEGMENT })
        }
    }

    /// The segment's members now, as a customer list page.
    ///
    /// # Errors
    /// [`DomainError::NotFound`]; the repositories' errors.
    pub async fn members(
        &self,
        actor: &Actor,
        id: SegmentId,
        sort: CustomerSort,
        limit: PageLimit,
        after: Option<Cursor>,
        include_total: bool,
    ) -> Result<Page<Customer>, DomainError> {
        let segment = self.find(actor, id).await?;
        let total = if include_total {
            Some(
                self.customers
                    .count(actor.company(), segment.filter.clone())
                    .await?,
            )
        } else {
            None
        };
        let query = CustomerQuery {
            filter: segment.filter,
            sort,
            limit,
            after,
        };
        let rows = self.customers.list(actor.company(), query).await?;
        let mut page = Page::from_overfetch(rows, limit, |c| sort.cursor_after(c));
        page.total_count = total;
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{CustomerStatus, MockCustomerRepository};

    fn actor(role: Role) -> Actor {
        Actor::new(UserId::new_random(), CompanyId::new_random(), role)
    }

    fn segment_of(by: &Actor) -> Segment {
        let now = clock::now();
        Segment {
            id: SegmentId::new_random(),
            company_id: by.company(),
            name: "Active".into(),
            description: None,
            filter: CustomerFilter {
                status: Some(CustomerStatus::Active),
                ..Default::default()
            },
            created_by: by.user(),
            created_at: now,
            updated_at: now,
        }
    }

    fn counting_customers(n: u64) -> Arc<MockCustomerRepository> {
        let mut customers = MockCustomerRepository::new();
        customers.expect_count().returning(move |_, _| Ok(n));
        Arc::new(customers)
    }

    #[tokio::test]
    async fn create_validates_name_and_filter_and_counts_members() {
        let a = actor(Role::User);
        let mut segments = MockSegmentRepository::new();
        segments.expect_insert().times(1).returning(|_, _| Ok(()));
        let svc = SegmentService::new(Arc::new(segments), counting_customers(7));
        let made = svc
            .create(
                &a,
                CreateSegment {
                    name: " Active ".into(),
                    description: None,
                    filter: CustomerFilter::default(),
                },
            )
            .await
            .unwrap();
        assert_eq!(made.segment.name, "Active");
        assert_eq!(made.member_count, 7);

        let bad = CreateSegment {
            name: "  ".into(),
            description: None,
            filter: CustomerFilter {
                created_from: Some(clock::now()),
                created_to: Some(clock::now() - chrono::Duration::days(1)),
                ..Default::default()
            },
        };
        let mut segments = MockSegmentRepository::new();
        segments.expect_insert().never();
        let svc = SegmentService::new(Arc::new(segments), counting_customers(0));
        let Err(DomainError::Validation(errors)) = svc.create(&a, bad).await else {
            panic!("expected validation errors");
        };
        assert_eq!(errors[0].field, "name");
    }

    #[tokio::test]
    async fn only_the_creator_and_managers_change_a_segment() {
        let owner = actor(Role::User);
        let other = Actor::new(UserId::new_random(), owner.company(), Role::User);
        let manager = Actor::new(UserId::new_random(), owner.company(), Role::Manager);
        let s = segment_of(&owner);
        for (who, allowed) in [(&owner, true), (&other, false), (&manager, true)] {
            let stored = s.clone();
            let mut segments = MockSegmentRepository::new();
            segments
                .expect_find()
                .returning(move |_, _| Ok(Some(stored.clone())));
            segments
                .expect_delete()
                .times(usize::from(allowed))
                .returning(|_, _| Ok(true));
            let svc = SegmentService::new(Arc::new(segments), counting_customers(0));
            assert_eq!(svc.delete(who, s.id).await.is_ok(), allowed);
        }
    }
}
