//! The console's two cookies: the session handle and the handle of a sign-in under way. Both
//! are random handles (the database keeps only their hashes), `HttpOnly`, `SameSite=Lax`,
//! scoped to `/console`, and `Secure` outside `serve --dev`.
use actix_web::http::header::{HeaderValue, COOKIE};
use actix_web::HttpRequest;

/// The session cookie.
pub const SESSION: &str = "msht_console";
/// The cookie of a sign-in under way (from the sign-in page to the callback).
pub const SIGN_IN: &str = "msht_console_sign_in";

/// The value of cookie `name` in the request, if any.
pub fn read(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// A `Set-Cookie` value for `name=value`, living `max_age_secs` (0 removes it).
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> Option<HeaderValue> {
    let ok = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    if !ok(name) || !ok(value) {
        return None;
    }
    let mut cookie =
        format!("{name}={value}; Path=/console; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax");
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).ok()
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear(name: &str, secure: bool) -> Option<HeaderValue> {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cookies_are_read_by_name() {
        let req = TestRequest::default()
            .insert_header((COOKIE, "a=1; msht_console=abc_-9; b=2"))
            .to_http_request();
        assert_eq!(read(&req, SESSION).as_deref(), Some("abc_-9"));
        assert_eq!(read(&req, SIGN_IN), None);
    }

    #[test]
    fn set_cookie_carries_the_attributes() {
        let v = set(SESSION, "abc", 60, true).unwrap();
        let v = v.to_str().unwrap();
        for part in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/console",
            "Max-Age=60",
        ] {
            assert!(v.contains(part), "{v}");
        }
        assert!(!set(SESSION, "abc", 60, false)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Secure"));
        assert!(set(SESSION, "a;b", 60, true).is_none());
    }
}
