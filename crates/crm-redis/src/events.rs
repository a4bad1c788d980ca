//! Domain events published on Redis pub/sub.

use async_trait::async_trait;
use crm_domain::{EventEnvelope, EventPublisher};

use crate::RedisClient;

/// Channel every event goes to.
pub const ALL_EVENTS_CHANNEL: &str = "crm.events";

/// Publishes each event as JSON on `crm.events` and `crm.events.{companyId}`.
///
/// Best effort for now: when Redis is down the event is logged and dropped. (A transactional
/// outbox replaces this in the Redis issue.)
#[derive(Clone)]
pub struct RedisEventPublisher {
    client: RedisClient,
}

impl RedisEventPublisher {
    /// A publisher over `client`.
    pub fn new(client: RedisClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl EventPublisher for RedisEventPublisher {
    async fn publish(&self, event: EventEnvelope) {
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise domain event");
                return;
            }
        };
        let company_channel = format!("{ALL_EVENTS_CHANNEL}.{}", event.company_id);
        let work = async {
            let mut conn = self.client.pool().get().await.map_err(|e| e.to_string())?;
            deadpool_redis::redis::pipe()
                .publish(ALL_EVENTS_CHANNEL, &payload)
                .ignore()
                .publish(&company_channel, &payload)
                .ignore()
                .query_async::<()>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.client.timeout(), work).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, event = event.event.type_name(), "event not published")
            }
            Err(_) => tracing::warn!(
                event = event.event.type_name(),
                "event not published: Redis timed out"
            ),
        }
    }
}
