//! The console's routes (absolute paths under `/console`). They are not part of the API
//! contract and need no bearer token: each page authenticates through its session.
use actix_web::web;

use super::assets;
use super::pages::{agreements, audit, disclosures, entry, people, verify};

/// The console's path prefix.
pub const PREFIX: &str = "/console";

/// Mounts the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console/static/console.css",
        web::get().to(assets::stylesheet),
    );
    cfg.route("/console/audit", web::get().to(audit::search))
        .route("/console/audit/export", web::get().to(audit::export))
        .route("/console/audit/entries/{id}", web::get().to(entry::show))
        .route("/console/verify", web::get().to(verify::show))
        .route("/console/agreements", web::get().to(agreements::list))
        .route(
            "/console/agreements/{id}/disclosures",
            web::get().to(disclosures::show),
        )
        .route(
            "/console/agreements/{id}/{action}",
            web::post().to(agreements::act),
        )
        .route("/console/people", web::get().to(people::report));
}
