//! Query-parameter parsing that reports every bad parameter at once (400).

use crm_domain::{PageLimit, Window};

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
