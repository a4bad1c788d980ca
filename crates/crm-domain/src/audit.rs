//! The audit trail: who did what to which entity, from where, with which role — sensitive
//! changes (written with the change, from its events) and role-denied attempts. Append-only;
//! admins read it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::error::DomainError;
use crate::ids::{CompanyId, UserId};
use crate::pagination::{Page, Window};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Entry id.
    pub id: Uuid,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Who.
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub actor: UserId,
    /// Their role then.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: Role,
    /// E.g. `customer.updated`, `note.deleted`, or `denied` for a refused attempt.
    pub action: String,
    /// `customer`, `note`, `interaction`, or the route of a denied attempt.
    pub entity_type: String,
    /// The entity, when one was addressed.
    pub entity_id: Option<Uuid>,
    /// The event's data: a snapshot, or the changed fields before and after.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: Value,
    /// The request id.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub client_ip: Option<String>,
}

/// Filters of the audit trail (newest first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditQuery {
    /// Only this entity type.
    pub entity_type: Option<String>,
    /// Only this entity.
    pub entity_id: Option<Uuid>,
    /// Only this user.
    pub actor: Option<UserId>,
    /// Only this action.
    pub action: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// At or before.
    pub to: Option<DateTime<Utc>>,
    /// Page size and position.
    pub window: Window,
}

/// The audit store. Change entries are written by the other repositories with the change.
///
/// # Errors
/// [`DomainError::Unavailable`] or [`DomainError::Internal`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditRepository: Send + Sync + 'static {
    /// Appends a denied attempt by `actor` at `what` (e.g. `DELETE /api/customers/{id}`).
    async fn record_denied(&self, company: CompanyId, entry: AuditEntry)
        -> Result<(), DomainError>;

    /// Up to `query.window.limit + 1` entries, newest first.
    async fn list(
        &self,
        company: CompanyId,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, DomainError>;
}

/// Reads the audit trail (admins only) and records denied attempts.
#[derive(Clone)]
pub struct AuditService {
    audit: Arc<dyn AuditRepository>,
}

impl AuditService {
    /// A service over `audit`.
    pub fn new(audit: Arc<dyn AuditRepository>) -> Self {
        Self { audit }
    }

    /// Records that `actor` was refused `what` (best effort: failures are the caller's to log).
    ///
    /// # Errors
    /// The store's errors.
    pub async fn record_denied(
        &self,
        actor: &Actor,
        what: &str,
        entity_id: Option<Uuid>,
    ) -> Result<(), DomainError> {
        let origin = actor.origin();
        let entry = AuditEntry {
            id: Uuid::now_v7(),
            occurred_at: crate::clock::now(),
            actor: actor.user(),
            role: actor.role(),
            action: "denied".into(),
            entity_type: what.chars().take(200).collect(),
            entity_id,
            changes: Value::Null,
            request_id: origin.and_then(|o| o.request_id.clone()),
            client_ip: origin.and_then(|o| o.client_ip.clone()),
        };
        self.audit.record_denied(actor.company(), entry).await
    }

    /// The company's audit trail, newest first.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for anyone but an admin.
    pub async fn list(
        &self,
        actor: &Actor,
        query: AuditQuery,
    ) -> Result<Page<AuditEntry>, DomainError> {
        if actor.role() != Role::Admin {
            return Err(DomainError::Forbidden(
                "only admins read the audit trail".into(),
            ));
        }
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                return Err(DomainError::invalid("from", "must not be after to"));
            }
        }
        let window = query.window.clone();
        let rows = self.audit.list(actor.company(), query).await?;
        Ok(window.page(rows, |e| (e.occurred_at, e.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_admins_read_the_trail() {
        let mut repo = MockAuditRepository::new();
        repo.expect_list().times(1).returning(|_, _| Ok(vec![]));
        let svc = AuditService::new(Arc::new(repo));
        let company = CompanyId::new_random();
        for role in [Role::User, Role::Manager] {
            let a = Actor::new(UserId::new_random(), company, role);
            assert!(matches!(
                svc.list(&a, AuditQuery::default()).await,
                Err(DomainError::Forbidden(_))
            ));
        }
        let admin = Actor::new(UserId::new_random(), company, Role::Admin);
        assert!(svc.list(&admin, AuditQuery::default()).await.is_ok());
    }
}
