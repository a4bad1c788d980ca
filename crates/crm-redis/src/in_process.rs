//! In-process implementations, used when `REDIS_URL` is unset.

use async_trait::async_trait;
use crm_domain::{DomainError, EventSink, OutboxMessage};
use tokio::sync::broadcast;

/// Delivers outbox messages to in-process subscribers (and the debug log) instead of Redis.
#[derive(Clone)]
pub struct InProcessEventSink {
    sender: broadcast::Sender<OutboxMessage>,
}

impl InProcessEventSink {
    /// A sink whose subscribers may lag by up to `capacity` messages before losing some.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    /// Receives every message sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<OutboxMessage> {
        self.sender.subscribe()
    }
}

impl Default for InProcessEventSink {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[async_trait]
impl EventSink for InProcessEventSink {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DomainError> {
        tracing::debug!(event = %message.event_type, company = %message.company_id, "domain event");
        // No subscriber is not an error: nobody listens in this process.
        let _ = self.sender.send(message.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crm_domain::{CompanyId, CustomerId};
    use uuid::Uuid;

    use super::*;

    #[tokio::test]
    async fn subscribers_receive_sent_messages() {
        let sink = InProcessEventSink::default();
        let mut rx = sink.subscribe();
        let message = OutboxMessage {
            seq: 1,
            id: Uuid::now_v7(),
            company_id: CompanyId::new_random(),
            customer_id: CustomerId::new_random(),
            event_type: "customer.created".into(),
            payload: "{}".into(),
        };
        sink.send(&message).await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), message);
    }
}
