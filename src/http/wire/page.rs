//! Cursor paging: lists return `{items, next_cursor}` with an opaque cursor.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The paging parameters every list accepts.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

impl PageQuery {
    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AppError::BadRequest(format!(
                "limit must be 1 to {MAX_LIMIT}"
            ))),
        }
    }

    /// The id encoded in the cursor, if any; a cursor that does not hold one is a 400.
    pub fn after<T: std::str::FromStr>(&self) -> Result<Option<T>, AppError> {
        self.position()?
            .map(|p| {
                p.parse::<T>()
                    .map_err(|_| AppError::BadRequest("invalid cursor".into()))
            })
            .transpose()
    }

    /// The position encoded in the cursor, if any; an empty `cursor=` is the first page.
    pub fn position(&self) -> Result<Option<String>, AppError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()
    }
}

pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<String, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| AppError::BadRequest("invalid cursor".into()))
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
pub fn page<T, U>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> String,
    map: impl Fn(T) -> U,
) -> Page<U> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        let q = |c: &str| PageQuery {
            cursor: Some(c.to_owned()),
            limit: None,
        };
        assert_eq!(q("").position().unwrap(), None);
        assert_eq!(
            q(&encode_cursor("42")).position().unwrap(),
            Some("42".to_owned())
        );
        assert!(q("%%").position().is_err());
    }
}
