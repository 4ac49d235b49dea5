//! The console's stylesheet, compiled into the binary and served with a long cache lifetime
//! (it holds no personal data; its URL changes with the binary's version).
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::HttpResponse;

const CSS: &str = include_str!("../../../assets/console/console.css");

/// `GET /console/static/console.css`
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}
