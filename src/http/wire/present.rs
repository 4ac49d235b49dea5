//! Optional request fields that may be left out but not sent as `null` (the spec gives them
//! no `null` type): `#[serde(default, deserialize_with = "present")]` reads a value that is
//! there as `Some`, refuses `null` with a 422 at its pointer, and leaves out as `None`.
use serde::{Deserialize, Deserializer};

/// Reads a field that is present; `null` is a type error like any other wrong type.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "present")]
        first_responder: Option<bool>,
    }

    #[test]
    fn left_out_is_none_and_null_is_refused() {
        let out: Patch = serde_json::from_str("{}").unwrap();
        assert_eq!(out.first_responder, None);
        let set: Patch = serde_json::from_str(r#"{"first_responder": false}"#).unwrap();
        assert_eq!(set.first_responder, Some(false));
        assert!(serde_json::from_str::<Patch>(r#"{"first_responder": null}"#).is_err());
    }
}
