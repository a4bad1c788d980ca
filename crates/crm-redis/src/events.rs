//! Publishing outbox messages on Redis pub/sub.

use async_trait::async_trait;
use crm_domain::{DomainError, EventSink, OutboxMessage};

use crate::RedisClient;

/// Channel every event goes to; each also goes to `crm.events.{companyId}`.
pub const ALL_EVENTS_CHANNEL: &str = "crm.events";

/// Publishes each message as JSON on `crm.events` and `crm.events.{companyId}`.
#[derive(Clone)]
pub struct RedisEventSink {
    client: RedisClient,
}

impl RedisEventSink {
    /// A sink over `client`.
    pub fn new(client: RedisClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl EventSink for RedisEventSink {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DomainError> {
        let company_channel = format!("{ALL_EVENTS_CHANNEL}.{}", message.company_id);
        let payload = message.payload.as_str();
        self.client
            .run(|mut conn| async move {
                deadpool_redis::redis::pipe()
                    .publish(ALL_EVENTS_CHANNEL, payload)
                    .ignore()
                    .publish(&company_channel, payload)
                    .ignore()
                    .query_async::<()>(&mut *conn)
                    .await
            })
            .await
            .map_err(Into::into)
    }
}
