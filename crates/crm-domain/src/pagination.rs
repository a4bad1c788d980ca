//! Keyset (cursor) pagination: a page is the rows after a `(sort key, id)` position, so page
//! 10,000 costs what page 1 costs. Cursors are opaque to clients.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;

/// How many items a page holds: 1 to [`PageLimit::MAX`], [`PageLimit::DEFAULT`] when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    /// Default page size.
    pub const DEFAULT: u32 = 20;
    /// Largest page size.
    pub const MAX: u32 = 100;

    /// Validates a requested page size.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `limit` when it is 0 or above [`PageLimit::MAX`].
    pub fn new(limit: Option<u32>) -> Result<Self, DomainError> {
        match limit {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            Some(_) => Err(DomainError::invalid(
                "limit",
                format!("must be between 1 and {}", Self::MAX),
            )),
        }
    }

    /// The size as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// The value of the sort key at a cursor position. Tagged, so that a name that looks like a
/// timestamp stays a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    /// A timestamp key (`createdAt`, `updatedAt`).
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    /// A text key (`name`).
    #[serde(rename = "s")]
    Text(String),
    /// A search rank.
    #[serde(rename = "r")]
    Rank(i64),
    /// A count and a name (tags by use).
    #[serde(rename = "c")]
    Counted(u64, String),
}

/// A decoded cursor: the position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Which sort the cursor was made for; a cursor is only valid with the same sort.
    #[serde(rename = "s")]
    pub sort: String,
    /// Sort key of the last item of the previous page.
    #[serde(rename = "k")]
    pub key: SortKey,
    /// Id of the last item of the previous page (the tie breaker).
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    /// The opaque string handed to clients.
    pub fn encode(&self) -> String {
        // Serialising this plain struct cannot fail; an empty cursor would only end the walk.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a client's cursor and checks it belongs to `sort`.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `cursor` when it is not one of ours or was made for
    /// another sort order.
    pub fn decode(raw: &str, sort: &str) -> Result<Self, DomainError> {
        let invalid = || DomainError::invalid("cursor", "is not a valid cursor for this query");
        if raw.len() > 1024 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.sort != sort {
            return Err(invalid());
        }
        Ok(cursor)
    }
}

/// A newest-first page request over a time-ordered list (notes, interactions, history):
/// ordered by `(time, id)` descending.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Window {
    /// Page size.
    pub limit: PageLimit,
    /// Position after which the page starts.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl Window {
    /// The sort tag recorded in newest-first cursors.
    pub const SORT: &'static str = "newest";

    /// Builds a window from a client's `limit` and `cursor`.
    ///
    /// # Errors
    /// [`DomainError::Validation`] on `limit` or `cursor`.
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = PageLimit::new(limit)?;
        let after = match cursor {
            None => None,
            Some(raw) => match Cursor::decode(raw, Self::SORT)? {
                Cursor {
                    key: SortKey::Time(t),
                    id,
                    ..
                } => Some((t, id)),
                _ => {
                    return Err(DomainError::invalid(
                        "cursor",
                        "is not a valid cursor for this query",
                    ))
                }
            },
        };
        Ok(Self { limit, after })
    }

    /// A page from `limit + 1` fetched rows, each keyed by its `(time, id)`.
    pub fn page<T>(&self, rows: Vec<T>, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Page<T> {
        Page::from_overfetch(rows, self.limit, |row| {
            let (time, id) = key(row);
            Cursor {
                sort: Self::SORT.to_owned(),
                key: SortKey::Time(time),
                id,
            }
        })
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// The cursor of the next page, `None` on the last page.
    pub next_cursor: Option<String>,
    /// The total number of matches, when it was asked for.
    pub total_count: Option<u64>,
}

impl<T> Page<T> {
    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            total_count: self.total_count,
        }
    }

    /// Builds a page from `limit + 1` fetched rows: the extra row, if present, only proves that
    /// a next page exists.
    pub fn from_overfetch(
        mut rows: Vec<T>,
        limit: PageLimit,
        cursor_of: impl Fn(&T) -> Cursor,
    ) -> Self {
        let limit = limit.get() as usize;
        let has_next = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_next {
            rows.last().map(|last| cursor_of(last).encode())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
            total_count: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            sort: "-createdAt".into(),
            key: SortKey::Time(Utc::now()),
            id: Uuid::now_v7(),
        }
    }

    #[test]
    fn cursor_round_trips() {
        let c = cursor();
        assert_eq!(Cursor::decode(&c.encode(), "-createdAt").unwrap(), c);
    }

    #[test]
    fn a_name_that_looks_like_a_time_stays_a_name() {
        let c = Cursor {
            sort: "name".into(),
            key: SortKey::Text("2026-01-01T00:00:00Z".into()),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode(), "name").unwrap(), c);
    }

    #[test]
    fn cursor_of_another_sort_is_rejected() {
        let c = cursor();
        assert!(matches!(
            Cursor::decode(&c.encode(), "name"),
            Err(DomainError::Validation(_))
        ));
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert!(Cursor::decode("%%%", "name").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("{}"), "name").is_err());
    }

    #[test]
    fn windows_walk_newest_first() {
        let w = Window::new(Some(2), None).unwrap();
        let t = Utc::now();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = w.page(ids.clone(), |id| (t, *id));
        assert_eq!(page.items.len(), 2);
        let next = Window::new(Some(2), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after, Some((t, ids[1])));
        let other = Cursor {
            sort: "name".into(),
            key: SortKey::Text("x".into()),
            id: ids[0],
        };
        assert!(Window::new(None, Some(&other.encode())).is_err());
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(PageLimit::new(None).unwrap().get(), 20);
        assert_eq!(PageLimit::new(Some(100)).unwrap().get(), 100);
        assert!(PageLimit::new(Some(0)).is_err());
        assert!(PageLimit::new(Some(101)).is_err());
    }

    #[test]
    fn overfetch_sets_next_cursor_only_when_more_rows_exist() {
        let limit = PageLimit::new(Some(2)).unwrap();
        let mk = |_: &u32| cursor();
        let page = Page::from_overfetch(vec![1, 2, 3], limit, mk);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.next_cursor.is_some());
        let last = Page::from_overfetch(vec![1, 2], limit, mk);
        assert!(last.next_cursor.is_none());
    }
}
