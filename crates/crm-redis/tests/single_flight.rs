//! Concurrent misses on one key make one database query per instance (real Redis on 6379,
//! keys under a random company).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_domain::{
    clock, Actor, CompanyId, CreateCustomer, Customer, CustomerFilter, CustomerId, CustomerQuery,
    CustomerRepository, DomainError, EventEnvelope, Ranked, Role, SearchQuery, TagCount, TagQuery,
    UserId,
};
use crm_redis::{CacheSettings, CachedCustomerRepository, RedisCache, RedisClient};

/// A slow store holding one customer, counting its reads.
struct SlowStore {
    customer: Customer,
    reads: AtomicUsize,
}

fn unused() -> DomainError {
    DomainError::Internal("not used by this test".into())
}

#[async_trait]
impl CustomerRepository for SlowStore {
    async fn insert(
        &self,
        _: CompanyId,
        _: &Customer,
        _: &[EventEnvelope],
    ) -> Result<(), DomainError> {
        Err(unused())
    }
    async fn find(
        &self,
        company: CompanyId,
        id: CustomerId,
    ) -> Result<Option<Customer>, DomainError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(
            (company == self.customer.company_id && id == self.customer.id)
                .then(|| self.customer.clone()),
        )
    }
    async fn update(
        &self,
        _: CompanyId,
        _: &Customer,
        _: DateTime<Utc>,
        _: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        Err(unused())
    }
    async fn delete(
        &self,
        _: CompanyId,
        _: &Customer,
        _: &[EventEnvelope],
    ) -> Result<bool, DomainError> {
        Err(unused())
    }
    async fn list(&self, _: CompanyId, _: CustomerQuery) -> Result<Vec<Customer>, DomainError> {
        Err(unused())
    }
    async fn count(&self, _: CompanyId, _: CustomerFilter) -> Result<u64, DomainError> {
        Err(unused())
    }
    async fn search(&self, _: CompanyId, _: SearchQuery) -> Result<Vec<Ranked>, DomainError> {
        Err(unused())
    }
    async fn tag_counts(&self, _: CompanyId, _: TagQuery) -> Result<Vec<TagCount>, DomainError> {
        Err(unused())
    }
}

#[tokio::test]
async fn concurrent_misses_share_one_query_and_later_reads_hit() {
    let actor = Actor::new(UserId::new_random(), CompanyId::new_random(), Role::Admin);
    let customer = CreateCustomer {
        name: "Popular".into(),
        ..Default::default()
    }
    .validate_for(actor.user())
    .unwrap()
    .into_customer(actor.company(), clock::now());
    let store = Arc::new(SlowStore {
        customer: customer.clone(),
        reads: AtomicUsize::new(0),
    });
    let client = RedisClient::connect("redis://127.0.0.1:6379", Duration::from_secs(1)).unwrap();
    let cache = RedisCache::new(client, CacheSettings::default());
    let repo = Arc::new(CachedCustomerRepository::new(store.clone(), cache.clone()));

    let readers: Vec<_> = (0..20)
        .map(|_| {
            let repo = repo.clone();
            let (company, id) = (customer.company_id, customer.id);
            tokio::spawn(async move { repo.find(company, id).await.unwrap() })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().as_ref(), Some(&customer));
    }
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        1,
        "one query for 20 concurrent misses"
    );
    assert_eq!(cache.stats().loads(), 1);

    // Now cached: no more queries.
    for _ in 0..5 {
        assert_eq!(
            repo.find(customer.company_id, customer.id).await.unwrap(),
            Some(customer.clone())
        );
    }
    assert_eq!(store.reads.load(Ordering::SeqCst), 1);
    assert!(cache.stats().hits() >= 5);
}
