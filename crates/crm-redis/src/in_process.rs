//! In-process implementations, used when `REDIS_URL` is unset.

use async_trait::async_trait;
use crm_domain::{EventEnvelope, EventPublisher};
use tokio::sync::broadcast;

/// Delivers events to in-process subscribers (and the log) instead of Redis.
#[derive(Clone)]
pub struct InProcessEventPublisher {
    sender: broadcast::Sender<EventEnvelope>,
}

impl InProcessEventPublisher {
    /// A publisher whose subscribers may lag by up to `capacity` events before losing some.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    /// Receives every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventEnvelope> {
        self.sender.subscribe()
    }
}

impl Default for InProcessEventPublisher {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[async_trait]
impl EventPublisher for InProcessEventPublisher {
    async fn publish(&self, event: EventEnvelope) {
        tracing::debug!(event = event.event.type_name(), company = %event.company_id, "domain event");
        // No subscriber is not an error: nobody listens in this process.
        let _ = self.sender.send(event);
    }
}

#[cfg(test)]
mod tests {
    use crm_domain::{clock, Actor, CompanyId, CreateCustomer, DomainEvent, Role, UserId};

    use super::*;

    #[tokio::test]
    async fn subscribers_receive_published_events() {
        let publisher = InProcessEventPublisher::default();
        let mut rx = publisher.subscribe();
        let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::Admin);
        let customer = CreateCustomer {
            name: "Gone".into(),
            ..Default::default()
        }
        .validate_for(actor.user())
        .unwrap()
        .into_customer(actor.company(), clock::now());
        let event = EventEnvelope::new(
            &actor,
            clock::now(),
            DomainEvent::CustomerDeleted(Box::new(customer.clone())),
        );
        publisher.publish(event.clone()).await;
        let got = rx.recv().await.unwrap();
        assert_eq!(got, event);
        assert_eq!(got.customer_id, customer.id);
    }
}
