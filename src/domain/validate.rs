//! Collecting validation errors with JSON pointers, so one 422 names every bad field.
use crate::error::{AppError, FieldError};

/// Escapes one JSON pointer token (RFC 6901).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// An accumulator of field errors.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Errors(Vec::new())
    }

    pub fn add(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    /// Records the error of `r` at `pointer` and returns its value, if any.
    pub fn take<T, E: std::fmt::Display>(
        &mut self,
        pointer: impl Into<String>,
        r: Result<T, E>,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(pointer, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else a 422.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// A required text field: trimmed, non-empty, at most `max` characters.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let t = value.trim();
    if t.is_empty() {
        Err("must not be empty".to_owned())
    } else if t.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(t.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }

    #[test]
    fn errors_finish_as_422() {
        let mut e = Errors::new();
        assert!(e.take::<u8, _>("/x", "7".parse::<u8>()).is_some());
        e.add("/name", "must not be empty");
        match e.finish() {
            Err(AppError::Validation(v)) => assert_eq!(v[0].pointer, "/name"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
