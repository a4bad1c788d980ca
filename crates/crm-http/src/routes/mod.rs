//! HTTP routes. Handlers are thin: parse and validate the request, call one service method,
//! map the result.

pub mod customers;
pub mod health;
