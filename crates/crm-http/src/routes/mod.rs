//! HTTP routes. Handlers are thin: parse and validate the request, call one service method,
//! map the result.

use actix_web::{web, HttpResponse, Route};

use crate::error::ApiError;

pub mod audit;
pub mod customers;
pub mod health;
pub mod history;
pub mod interactions;
pub mod notes;
mod params;
pub mod segments;
pub mod stats;

/// The default service of a resource: any other method gets a 405 problem with
/// `Allow: <methods>`.
pub(crate) fn not_allowed(methods: &'static str) -> Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(methods)) })
}
