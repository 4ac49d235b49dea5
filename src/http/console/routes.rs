//! The console's routes (absolute paths under `/console`). They are not part of the API
//! contract and need no bearer token: each page authenticates through its session.
use actix_web::web;

use super::assets;

/// The console's path prefix.
pub const PREFIX: &str = "/console";

/// Mounts the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console/static/console.css",
        web::get().to(assets::stylesheet),
    );
}
