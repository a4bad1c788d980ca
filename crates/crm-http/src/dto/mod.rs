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
