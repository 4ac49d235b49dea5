//! Path identifiers: anything that does not parse is simply not there (404).
use std::str::FromStr;

use crate::error::AppError;

/// Parses an id from the path, answering 404 for anything malformed.
pub fn parse_id<T: FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}
