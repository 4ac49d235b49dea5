//! `POST /incidents/{id}/outcomes`: an outcome recorded on an incident by its reporting
//! agency's practitioners or by a partner an agreement lets record it.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde_json::Value;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ids::IncidentId;
use crate::domain::incident::outcome_record;
use crate::domain::outcome::OutcomeInput;
use crate::error::AppError;
use crate::http::extract::roles::IncidentRecorder;
use crate::http::extract::{parse_id, Authorized, JsonBody};
use crate::http::wire::incidents::RoutingItem;
use crate::usecase::incidents::outcomes;

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<IncidentRecorder>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<OutcomeInput>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    let done = outcomes::record(&state.hub, actor, agency, id, body).await?;
    state.delivery.wake();
    let incident = &done.recorded.incident;
    let mut out = outcome_record(&done.outcome);
    if let Some(o) = out.as_object_mut() {
        o.insert("incident_id".into(), Value::from(incident.id.clone()));
        o.insert(
            "incident_version".into(),
            Value::from(done.recorded.version),
        );
        // Where the incident went is the reporting agency's to see, never a partner's.
        if incident.reporting_agency == agency {
            let routing: Vec<RoutingItem> =
                done.recorded.routed.iter().map(RoutingItem::from).collect();
            o.insert("routing".into(), serde_json::to_value(routing)?);
        }
    }
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!(
                "/api/v1/incidents/{}#outcome-{}",
                incident.id, done.outcome.id
            ),
        ))
        .json(out))
}
