//! The console's routes (absolute paths under `/console`). They are not part of the API
//! contract and need no bearer token: each page authenticates through its session.
use actix_web::web;

use super::pages::{agreements, audit, disclosures, entry, people, verify};
use super::{assets, sign_in};

/// The console's path prefix.
pub const PREFIX: &str = "/console";

/// Mounts the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console/static/console.css",
        web::get().to(assets::stylesheet),
    );
    // Signing in and out, and the session's purpose.
    cfg.route("/console", web::get().to(sign_in::home));
    cfg.route("/console/sign-in", web::get().to(sign_in::sign_in));
    cfg.route("/console/callback", web::get().to(sign_in::callback));
    cfg.route("/console/sign-out", web::post().to(sign_in::sign_out));
    cfg.route("/console/purpose", web::get().to(sign_in::purpose_form));
    cfg.route("/console/purpose", web::post().to(sign_in::purpose));
    // The pages.
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
