//! `POST /incidents/{id}/outcomes`: an outcome recorded on an incident by its reporting
//! agency's practitioners or by a partner an agreement lets record it.
use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::Value;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ids::{AgencyId, IncidentId};
use crate::domain::incident::outcome_record;
use crate::domain::outcome::OutcomeInput;
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::IncidentRecorder;
use crate::http::extract::{parse_id, Authorized, IdempotencyKey, JsonBody};
use crate::http::wire::incidents::RoutingItem;
use crate::usecase::idempotency::Keyed;
use crate::usecase::incidents::outcomes;

/// The answer to a recorded outcome: the outcome, its incident's id and version, and, for
/// the reporting agency only, where the incident went (never a partner's to see).
fn shape(done: &outcomes::RecordedOutcome, agency: AgencyId) -> Result<Value, AppError> {
    let incident = &done.recorded.incident;
    let mut out = outcome_record(&done.outcome);
    if let Some(o) = out.as_object_mut() {
        o.insert("incident_id".into(), Value::from(incident.id.clone()));
        o.insert(
            "incident_version".into(),
            Value::from(done.recorded.version),
        );
        if incident.reporting_agency == agency {
            let routing: Vec<RoutingItem> =
                done.recorded.routed.iter().map(RoutingItem::from).collect();
            o.insert("routing".into(), serde_json::to_value(routing)?);
        }
    }
    Ok(out)
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<IncidentRecorder>,
    id: web::Path<String>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let body: OutcomeInput = parse_json(&serde_json::to_vec(&raw)?)?;
    let actor = Actor::from(&auth.principal);
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = outcomes::record(&state.hub, actor, agency, id, body, request, shape).await?;
    state.delivery.wake();
    let status = StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if let (Some(i), Some(o)) = (
        r.body.get("incident_id").and_then(Value::as_str),
        r.body.get("id").and_then(Value::as_str),
    ) {
        resp.insert_header((LOCATION, format!("/api/v1/incidents/{i}#outcome-{o}")));
    }
    if r.replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(r.body))
}
