//! Request and response bodies of the HTTP API (camelCase JSON), and their conversion to and
//! from domain commands and entities. Requests refuse unknown fields, so server-owned fields
//! (`id`, `companyId`, `createdBy`, timestamps) cannot be set by clients.

mod customers;
mod history;
mod interactions;
mod notes;
mod segments;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use customers::*;
pub use history::*;
pub use interactions::*;
pub use notes::*;
pub use segments::*;

use crate::error::ProblemField;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Reads a struct only from a JSON object: serde's derive would also take an array of the
/// fields in order (`[null, null]`), which the OpenAPI document does not allow.
pub(crate) fn object<'de, T, D>(de: D) -> Result<T, D::Error>
where
    T: serde::de::DeserializeOwned,
    D: Deserializer<'de>,
{
    match serde_json::Value::deserialize(de)? {
        value @ serde_json::Value::Object(_) => {
            serde_json::from_value(value).map_err(serde::de::Error::custom)
        }
        other => Err(serde::de::Error::invalid_type(
            unexpected(&other),
            &"a JSON object",
        )),
    }
}

/// [`object`] for a field where `null` is told apart from absence (see [`double_option`]).
pub(crate) fn double_option_object<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::de::DeserializeOwned,
    D: Deserializer<'de>,
{
    match serde_json::Value::deserialize(de)? {
        serde_json::Value::Null => Ok(Some(None)),
        value => object(value)
            .map(|v| Some(Some(v)))
            .map_err(serde::de::Error::custom),
    }
}

/// A whole number that fits `u32`, also when written with a fraction of zero (`378.0`): JSON
/// numbers carry no integer type, and JSON Schema's `integer` admits `378.0`.
pub(crate) fn whole_u32<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u32>, D::Error> {
    Option::<serde_json::Number>::deserialize(de)?
        .map(|n| number_to_u32(&n))
        .transpose()
}

/// [`whole_u32`] for a field where `null` is told apart from absence.
pub(crate) fn double_option_whole_u32<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<u32>>, D::Error> {
    whole_u32(de).map(Some)
}

fn number_to_u32<E: serde::de::Error>(n: &serde_json::Number) -> Result<u32, E> {
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
            .and_then(|f| format!("{f:.0}").parse().ok())
    });
    whole.and_then(|w| u32::try_from(w).ok()).ok_or_else(|| {
        E::invalid_value(
            serde::de::Unexpected::Other(&n.to_string()),
            &"a whole number from 0 to 4294967295",
        )
    })
}

fn unexpected(value: &serde_json::Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected;
    match value {
        serde_json::Value::Null => Unexpected::Unit,
        serde_json::Value::Bool(b) => Unexpected::Bool(*b),
        serde_json::Value::Number(_) => Unexpected::Other("number"),
        serde_json::Value::String(s) => Unexpected::Str(s),
        serde_json::Value::Array(_) => Unexpected::Seq,
        serde_json::Value::Object(_) => Unexpected::Map,
    }
}

/// `Some(None)` is an explicit `null` for a field that cannot be cleared: an error.
pub(crate) fn not_null<T>(
    field: &str,
    value: Option<Option<T>>,
    errors: &mut Vec<ProblemField>,
) -> Option<T> {
    match value {
        Some(None) => {
            errors.push(ProblemField {
                field: field.to_owned(),
                message: "must not be null".into(),
            });
            None
        }
        other => other.flatten(),
    }
}

/// Pagination state of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Whether a next page exists.
    pub has_next_page: bool,
}

/// Declares a concrete page type (`{data, pageInfo, totalCount?}`) of `$item`, so the OpenAPI
/// document names each list's item type exactly.
macro_rules! page_type {
    ($(#[$meta:meta])* $name:ident of $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The items of this page.
            pub data: Vec<$item>,
            /// Where the next page starts.
            pub page_info: $crate::dto::PageInfo,
            /// Total matches; only when asked for (`includeTotal=true`).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub total_count: Option<u64>,
        }

        impl<D> From<crm_domain::Page<D>> for $name
        where
            $item: From<D>,
        {
            fn from(page: crm_domain::Page<D>) -> Self {
                Self {
                    data: page.items.into_iter().map(<$item>::from).collect(),
                    page_info: $crate::dto::PageInfo {
                        has_next_page: page.next_cursor.is_some(),
                        next_cursor: page.next_cursor,
                    },
                    total_count: page.total_count,
                }
            }
        }
    };
}
pub(crate) use page_type;

/// `limit` and `cursor` of a newest-first list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct WindowParams {
    /// Page size, 1–100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}
