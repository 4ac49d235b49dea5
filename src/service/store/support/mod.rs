//! Commissioned support: providers, contracts and services, capacity exceptions, and
//! placements of referred people. Money is stored as exact decimal text; reading it back
//! parses it into the domain's `Amount`.
mod catalogue;
mod placements;

pub use catalogue::*;
pub use placements::*;

use crate::error::AppError;

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, AppError>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| AppError::internal(format!("stored {what} `{s}`: {e}")))
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, AppError> {
    Ok(serde_json::from_str(s)?)
}
