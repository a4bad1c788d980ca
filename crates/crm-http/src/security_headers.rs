//! Security headers on every response: no sniffing, no framing, no referrer, no powerful
//! browser features, a Content-Security-Policy (strict for the API, `'self'`-only for the docs
//! page), and HSTS when configured.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// API responses are data: nothing may load or run from them.
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// The Swagger UI page: its own scripts, styles (it sets inline styles) and images only.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// The configured `Strict-Transport-Security` value, when HSTS is on.
#[derive(Debug, Clone)]
pub struct Hsts(pub Option<HeaderValue>);

impl Hsts {
    /// HSTS for `max_age` seconds (with subdomains), or none.
    pub fn new(max_age: Option<u64>) -> Self {
        Self(max_age.and_then(|age| {
            HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")).ok()
        }))
    }
}

/// Middleware adding the headers to every response, errors included.
///
/// # Errors
/// Passes through errors of the inner service.
pub async fn security_headers_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let docs = req.path().starts_with("/api/docs");
    let hsts = req.app_data::<web::Data<Hsts>>().and_then(|h| h.0.clone());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if docs { DOCS_CSP } else { API_CSP }),
    );
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    Ok(res)
}
