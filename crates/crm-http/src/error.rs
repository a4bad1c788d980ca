//! The one HTTP error type: RFC 9457 `application/problem+json`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use crm_domain::{DomainError, FieldError};
use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

/// Media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One failing field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct ProblemField {
    /// Field path, e.g. `email` or `tags[1]`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// Failing fields (validation problems).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// An error answered to the client. The `cause` is for logs only.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<ProblemField>,
    /// Boxed, like every field here kept small: handlers return `Result<_, ApiError>`.
    cause: Option<Box<str>>,
    /// The methods the resource supports (`Allow` of a 405).
    allow: Option<&'static str>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.title,
            self.detail
        )?;
        if let Some(cause) = &self.cause {
            write!(f, " (cause: {cause})")?;
        }
        Ok(())
    }
}

impl ApiError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            cause: None,
            allow: None,
        }
    }

    /// 400: the request is malformed (JSON syntax, path or query parameter).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad Request",
            detail,
        )
    }

    /// 400 with the parameters at fault.
    pub fn bad_parameters(errors: Vec<ProblemField>) -> Self {
        let mut e = Self::bad_request("one or more parameters are invalid");
        e.errors = errors;
        e
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not Found", detail)
    }

    /// 405 with `Allow: <allow>` (RFC 9110 §15.5.6), e.g. `"GET, POST"`.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method Not Allowed",
            format!("this resource supports {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 413.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload Too Large",
            format!("the request body exceeds {limit} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
            "the request body must be application/json",
        )
    }

    /// 422 with the failing fields.
    pub fn validation(errors: Vec<ProblemField>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Validation Failed",
            "one or more fields are invalid",
        );
        e.errors = errors;
        e
    }

    /// 429: the client made too many requests; it may retry in `retry_after` seconds.
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too Many Requests",
            format!("too many requests; retry in {} s", retry_after.max(1)),
        )
    }

    /// 503.
    pub fn unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service Unavailable",
            "a dependency is unavailable; retry later",
        );
        e.cause = Some(cause.into().into_boxed_str());
        e
    }

    /// 503 with a `detail` of its own; the `cause` is logged only.
    pub fn unavailable_because(detail: impl Into<String>, cause: impl Into<String>) -> Self {
        let mut e = Self::unavailable(cause);
        e.detail = detail.into();
        e
    }

    /// 504: the request took longer than allowed.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "Request Timeout",
            "the request took too long and was abandoned",
        )
    }

    /// 500: the body says nothing of the cause, which is logged.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal Server Error",
            "an unexpected error occurred; it has been logged",
        );
        e.cause = Some(cause.into().into_boxed_str());
        e
    }

    /// The problem document answered for this error.
    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("/problems/{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound { entity } => ApiError::not_found(format!("{entity} not found")),
            DomainError::Validation(errors) => {
                ApiError::validation(errors.into_iter().map(ProblemField::from).collect())
            }
            DomainError::Conflict(detail) => ApiError::conflict(detail),
            DomainError::Forbidden(detail) => ApiError::forbidden(detail),
            DomainError::Unavailable(cause) => ApiError::unavailable(cause),
            DomainError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nexus-crm\""),
            ));
        }
        if let Some(allow) = self.allow {
            res.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// Reusable OpenAPI responses for the problems every route can answer, so each handler's
/// annotation lists them by name (`(status = 404, response = responses::NotFound)`).
pub mod responses {
    use super::{Problem, ToResponse};

    macro_rules! problem_responses {
        ($($name:ident => $description:literal),+ $(,)?) => {$(
            #[doc = $description]
            #[derive(ToResponse)]
            #[response(description = $description, content_type = "application/problem+json")]
            #[allow(dead_code)]
            pub struct $name(Problem);
        )+};
    }

    problem_responses!(
        BadRequest => "Malformed JSON, path or query parameter",
        Unauthorized => "Missing, malformed, expired or badly signed token",
        Forbidden => "Authenticated, but the role does not allow this",
        NotFound => "No such resource in your company",
        Conflict => "Conflicts with existing data (e.g. a duplicate email), or lost a race with a concurrent change (retry)",
        PayloadTooLarge => "The body exceeds the configured limit",
        UnsupportedMediaType => "The body is not application/json",
        Unprocessable => "Validation failed; `errors` names each field",
        Unavailable => "A dependency (the database) is unavailable; retry later",
    );
}

/// The problem answers routes share, one type per set, so each handler's OpenAPI annotation
/// names its set (`responses((status = 200, ...), problem_sets::ChangeErrors)`).
pub mod problem_sets {
    use utoipa::IntoResponses;

    use super::responses;

    /// Declares a set: one variant per problem, each referring to its response component.
    macro_rules! problem_set {
        ($(#[$meta:meta])* $name:ident { $($variant:ident = $status:literal),+ $(,)? }) => {
            $(#[$meta])*
            #[derive(IntoResponses)]
            #[allow(dead_code, missing_docs)]
            pub enum $name {
                $(
                    #[response(status = $status)]
                    $variant(#[ref_response] responses::$variant),
                )+
            }
        };
    }

    problem_set!(
        /// Problems of a read addressing one resource (or its children).
        ReadErrors { BadRequest = 400, Unauthorized = 401, NotFound = 404, Unavailable = 503 }
    );

    problem_set!(
        /// Problems of a change to an existing resource.
        ChangeErrors {
            BadRequest = 400,
            Unauthorized = 401,
            Forbidden = 403,
            NotFound = 404,
            Conflict = 409,
            PayloadTooLarge = 413,
            UnsupportedMediaType = 415,
            Unprocessable = 422,
            Unavailable = 503,
        }
    );

    problem_set!(
        /// Problems of a delete.
        DeleteErrors {
            BadRequest = 400,
            Unauthorized = 401,
            Forbidden = 403,
            NotFound = 404,
            Conflict = 409,
            Unavailable = 503,
        }
    );

    problem_set!(
        /// Problems of a filtered query.
        QueryErrors { BadRequest = 400, Unauthorized = 401, Unprocessable = 422, Unavailable = 503 }
    );

    problem_set!(
        /// Problems of a plain list.
        ListErrors { BadRequest = 400, Unauthorized = 401, Unavailable = 503 }
    );

    problem_set!(
        /// Problems of creating a top-level resource.
        CreateErrors {
            BadRequest = 400,
            Unauthorized = 401,
            Conflict = 409,
            PayloadTooLarge = 413,
            UnsupportedMediaType = 415,
            Unprocessable = 422,
            Unavailable = 503,
        }
    );

    problem_set!(
        /// Problems of creating a resource under a customer.
        ChildCreateErrors {
            BadRequest = 400,
            Unauthorized = 401,
            NotFound = 404,
            Conflict = 409,
            PayloadTooLarge = 413,
            UnsupportedMediaType = 415,
            Unprocessable = 422,
            Unavailable = 503,
        }
    );
}
