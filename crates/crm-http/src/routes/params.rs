//! Query-parameter parsing that reports every bad parameter at once (400).

use chrono::{DateTime, Utc};
use crm_domain::{Cursor, CustomerFilter, CustomerSort, PageLimit, Tag, UserId, Window};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::dto::FilterFields;
use crate::error::{ApiError, ProblemField};

/// Collects query-parameter errors so the client hears about all of them at once.
#[derive(Default)]
pub(crate) struct ParamErrors(Vec<ProblemField>);

impl ParamErrors {
    /// Parses `raw` when present, noting a failure against `field`.
    pub(crate) fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = raw?;
        if raw.contains('\0') {
            // PostgreSQL cannot take U+0000 in text; refuse it before any parser sees it.
            self.0.push(ProblemField {
                field: field.to_owned(),
                message: "must not contain the NUL character (U+0000)".into(),
            });
            return None;
        }
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(ProblemField {
                    field: field.to_owned(),
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// A newest-first window from `limit` and `cursor`.
    pub(crate) fn window(&mut self, limit: Option<&str>, cursor: Option<&str>) -> Window {
        let limit = self.parse("limit", limit, parse_limit);
        let after = self
            .parse("cursor", cursor, |c| {
                Window::new(None, Some(c)).map_err(|_| "is not a valid cursor for this list")
            })
            .and_then(|w| w.after);
        Window {
            limit: limit.unwrap_or_default(),
            after,
        }
    }

    /// Notes a required parameter that is absent.
    pub(crate) fn missing(&mut self, field: &str) {
        self.0.push(ProblemField {
            field: field.to_owned(),
            message: "is required".into(),
        });
    }

    /// Sort, page size, decoded cursor and `includeTotal` of a customer list.
    pub(crate) fn page(
        &mut self,
        sort: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
        include_total: Option<&str>,
    ) -> (CustomerSort, PageLimit, Option<Cursor>, bool) {
        let sort: CustomerSort = self.parse("sort", sort, str::parse).unwrap_or_default();
        let limit = self.parse("limit", limit, parse_limit).unwrap_or_default();
        let after = self.parse("cursor", cursor, |c| {
            Cursor::decode(c, sort.as_str()).map_err(|_| "is not a valid cursor for this sort")
        });
        let include_total = self
            .parse("includeTotal", include_total, parse_bool)
            .unwrap_or(false);
        (sort, limit, after, include_total)
    }

    /// The customer filter of a request's query parameters.
    pub(crate) fn filter(&mut self, f: FilterFields<'_>) -> CustomerFilter {
        CustomerFilter {
            status: self.parse("status", f.status, str::parse),
            customer_type: self.parse("type", f.customer_type, str::parse),
            tags_any: self.parse("tags", f.tags, parse_tags).unwrap_or_default(),
            tags_all: self
                .parse("tagsAll", f.tags_all, parse_tags)
                .unwrap_or_default(),
            assigned_to: self.parse("assignedTo", f.assigned_to, |s| {
                Uuid::parse_str(s).map(UserId::from)
            }),
            created_from: self.parse("createdFrom", f.created_from, parse_time),
            created_to: self.parse("createdTo", f.created_to, parse_time),
            updated_from: self.parse("updatedFrom", f.updated_from, parse_time),
            updated_to: self.parse("updatedTo", f.updated_to, parse_time),
            metadata: self.parse("metadata", f.metadata, parse_object),
        }
    }

    /// The value, or a 400 naming every bad parameter.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::bad_parameters(self.0))
        }
    }
}

/// A page size from 1 to [`PageLimit::MAX`].
pub(crate) fn parse_limit(raw: &str) -> Result<PageLimit, String> {
    raw.parse::<u32>()
        .ok()
        .and_then(|n| PageLimit::new(Some(n)).ok())
        .ok_or_else(|| format!("`{raw}` is not a page size from 1 to {}", PageLimit::MAX))
}

/// An RFC 3339 time.
pub(crate) fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{raw}` is not an RFC 3339 time: {e}"))
}

/// `true`/`false` (or `1`/`0`).
pub(crate) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("`{raw}` is not true or false")),
    }
}

/// A comma-separated tag list.
fn parse_tags(raw: &str) -> Result<Vec<Tag>, String> {
    let tags = raw
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(Tag::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if tags.len() > Tag::MAX_PER_CUSTOMER {
        return Err(format!("at most {} tags", Tag::MAX_PER_CUSTOMER));
    }
    Ok(tags)
}

/// A JSON object (the `metadata` filter).
fn parse_object(raw: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("must be a JSON object".into()),
        Err(e) => Err(format!("is not JSON: {e}")),
    }
}
