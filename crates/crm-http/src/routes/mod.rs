//! HTTP routes. Handlers are thin: parse and validate the request, call one service method,
//! map the result.

use actix_web::HttpResponse;

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

/// The answer to a method a resource does not support.
pub(crate) async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed())
}
