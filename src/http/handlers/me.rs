//! `GET /me`: who the hub thinks is calling, with the name of the agency they act for.
use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::error::AppError;
use crate::http::extract::Caller;
use crate::http::wire::agencies::MeOut;
use crate::usecase::directory;

pub async fn get(state: web::Data<AppState>, Caller(p): Caller) -> Result<HttpResponse, AppError> {
    let agency_name = directory::own_agency(&state.hub, &p).await?.map(|a| a.name);
    Ok(HttpResponse::Ok().json(MeOut {
        agency_id: p.agency_id.map(|a| a.to_string()),
        agency_name,
        issuer: p.issuer,
        subject: p.subject,
        roles: p.roles.names(),
        client_id: p.client_id,
    }))
}
