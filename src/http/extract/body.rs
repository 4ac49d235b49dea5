//! JSON bodies that fail as problems: not JSON media type is 415, too large 413, malformed
//! JSON 400, and JSON of the wrong shape 422 with a pointer to the offending field.
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::validate::pointer_token;
use crate::error::{AppError, FieldError};

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(AppError::UnsupportedMediaType);
            }
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest("the request body could not be read".into())
                }
            })?;
            parse(&bytes).map(JsonBody)
        })
    }
}

/// Reads an already parsed JSON body as `T`, with the same 422 pointers as [`parse`].
pub fn parse_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, AppError> {
    parse(&serde_json::to_vec(value)?)
}

/// The largest integer a JSON number written with a fraction holds exactly (2^53).
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Writes every number with a zero fraction (`66.0`, `1e2`) as the integer it is: JSON Schema
/// counts it as an `integer`, and so does the hub.
fn integral(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT) {
                // within ±2^53 the conversion is exact
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i64;
                *n = serde_json::Number::from(i);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral),
        serde_json::Value::Object(m) => m.values_mut().for_each(integral),
        _ => {}
    }
}

/// Parses JSON bytes into `T`, mapping shape errors to a 422 with a JSON pointer.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::BadRequest(format!(
            "malformed JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    integral(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = String::new();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => {
                    pointer.push('/');
                    pointer.push_str(&index.to_string());
                }
                serde_path_to_error::Segment::Map { key } => {
                    pointer.push('/');
                    pointer.push_str(&pointer_token(key));
                }
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let detail = e.inner().to_string();
        // serde names a missing field on its parent; point at the field itself.
        if let Some(rest) = detail.strip_prefix("missing field `") {
            if let Some(name) = rest.split('`').next() {
                pointer.push('/');
                pointer.push_str(&pointer_token(name));
                return AppError::Validation(vec![FieldError::new(pointer, "is required")]);
            }
        }
        AppError::Validation(vec![FieldError::new(pointer, detail)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        name: String,
        items: Vec<u8>,
    }

    fn pointer_of(r: Result<Thing, AppError>) -> String {
        match r {
            Err(AppError::Validation(v)) => v[0].pointer.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn integers_written_with_a_zero_fraction_are_integers() {
        let t: Thing = parse(br#"{"name": "a", "items": [66.0, 1e2, 3]}"#).unwrap();
        assert_eq!(t.items, vec![66, 100, 3]);
        assert!(parse::<Thing>(br#"{"name": "a", "items": [6.5]}"#).is_err());
        let v: serde_json::Value = parse(br#"{"x": 2.5, "y": 7.0}"#).unwrap();
        assert_eq!(v, serde_json::json!({"x": 2.5, "y": 7}));
    }

    #[test]
    fn shape_errors_point_at_the_field() {
        assert_eq!(
            pointer_of(parse(br#"{"name":"a","items":[1,"x"]}"#)),
            "/items/1"
        );
        assert_eq!(pointer_of(parse(br#"{"items":[]}"#)), "/name");
    }

    #[test]
    fn malformed_json_is_400() {
        assert!(matches!(
            parse::<Thing>(b"{nope"),
            Err(AppError::BadRequest(_))
        ));
    }
}
