//! Request extractors whose failures are problem documents: a JSON body (415 / 413 / 400 /
//! 422 with the field at fault) and the path and query configurations (400).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{PayloadError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ProblemField};

/// A JSON request body, parsed with the path of any field at fault.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Turns a serde error into the problem a client can act on.
pub(crate) fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        Category::Data => {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            // serde names a missing field only in its message: "missing field `name`".
            let field = match (path.as_str(), message.strip_prefix("missing field `")) {
                (".", Some(rest)) => rest.trim_end_matches('`').to_owned(),
                (".", None) => String::new(),
                (p, Some(rest)) => format!("{p}.{}", rest.trim_end_matches('`')),
                (p, None) => p.to_owned(),
            };
            ApiError::validation(vec![ProblemField { field, message }])
        }
        Category::Eof if inner.line() == 1 && inner.column() == 0 => {
            ApiError::bad_request("the request body is empty; a JSON object is expected")
        }
        _ => ApiError::bad_request(format!("the request body is not valid JSON: {inner}")),
    }
}

/// A JSON request body that may be absent: an empty body reads as `T::default()`.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

/// Reads and parses a JSON body; an empty one is `empty()` when that is given.
fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    empty: Option<fn() -> T>,
) -> Pin<Box<dyn Future<Output = Result<T, ApiError>>>> {
    let json = is_json(req);
    let limit = req
        .app_data::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    let bytes = Bytes::from_request(req, payload);
    Box::pin(async move {
        let bytes = bytes
            .await
            .map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => ApiError::payload_too_large(limit),
                _ if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::payload_too_large(limit)
                }
                _ => ApiError::bad_request(format!("cannot read the body: {e}")),
            })?;
        match empty {
            // No body, or `null` (the document's `oneOf: [null, object]`), is the default.
            Some(default) if bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null" => {
                Ok(default())
            }
            _ if !json => Err(ApiError::unsupported_media_type()),
            _ => parse_body(&bytes),
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !is_json(req) {
            // Refuse before reading a body we will not parse.
            return Box::pin(async { Err(ApiError::unsupported_media_type()) });
        }
        let body = read_json(req, payload, None);
        Box::pin(async move { body.await.map(JsonBody) })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, Some(T::default));
        Box::pin(async move { body.await.map(OptionalJsonBody) })
    }
}

/// Parses a body, telling syntax errors (400) from data errors (422) even when serde meets a
/// wrong type before the syntax error (`[1,2` for an object). Every body is a JSON object:
/// anything else is a 422 (serde alone would read a struct from an array of its fields).
/// Strings holding U+0000 are a 422 too: PostgreSQL can store them neither in `text` nor in
/// `jsonb`.
pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let syntax_error = || match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        Err(syntax) if !syntax.is_data() => Some(ApiError::bad_request(format!(
            "the request body is not valid JSON: {syntax}"
        ))),
        _ => None,
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(syntax_error().unwrap_or_else(|| {
            ApiError::validation(vec![ProblemField {
                field: String::new(),
                message: "the request body must be a JSON object".into(),
            }])
        }));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de)
        .map_err(|err| syntax_error().unwrap_or_else(|| json_error(err)))?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    if let Some(field) = nul_path(bytes) {
        return Err(ApiError::validation(vec![ProblemField {
            field,
            message: "must not contain the NUL character (U+0000)".into(),
        }]));
    }
    Ok(value)
}

/// The path of the first string or key holding U+0000, if any. JSON text can carry it only
/// as the escape `\u0000`, so bodies without that sequence are not walked.
fn nul_path(bytes: &[u8]) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(path.to_owned()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    Some(here)
                } else {
                    walk(v, &here)
                }
            }),
            _ => None,
        }
    }
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| walk(&v, ""))
}

/// Body limit when none is configured.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The configured body limit, registered as app data beside `web::PayloadConfig`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Bad path parameters (e.g. an id that is not a UUID) are 400.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ApiError::bad_parameters(vec![ProblemField {
            field: "path".into(),
            message: format!("{err}; ids are UUIDs"),
        }])
        .into()
    })
}

/// Malformed query strings are 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let message = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::bad_parameters(vec![ProblemField {
            field: "query".into(),
            message,
        }])
        .into()
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        tags: Vec<String>,
    }

    fn parse(raw: &str) -> Result<Body, ApiError> {
        parse_body(raw.as_bytes())
    }

    fn status_and_fields(err: ApiError) -> (u16, Vec<String>) {
        let p = err.problem();
        (p.status, p.errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn syntax_errors_are_400() {
        assert_eq!(status_and_fields(parse("{").unwrap_err()).0, 400);
        assert_eq!(status_and_fields(parse("").unwrap_err()).0, 400);
        assert_eq!(status_and_fields(parse("[1,2").unwrap_err()).0, 400);
        assert_eq!(status_and_fields(parse("[1,2]").unwrap_err()).0, 422);
    }

    #[test]
    fn data_errors_are_422_with_the_field() {
        assert_eq!(
            status_and_fields(parse(r#"{"tags":[]}"#).unwrap_err()),
            (422, vec!["name".to_owned()])
        );
        assert_eq!(
            status_and_fields(parse(r#"{"name":"a","tags":["x",3]}"#).unwrap_err()),
            (422, vec!["tags[1]".to_owned()])
        );
        assert_eq!(
            status_and_fields(parse(r#"{"name":"a","tags":[],"id":"x"}"#).unwrap_err()).0,
            422
        );
    }
}
