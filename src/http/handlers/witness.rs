//! `POST /witness/add-checkpoint` (C2SP tlog-witness), served when `[witness]` is enabled:
//! no bearer token (the checkpoint's signature is the request's authentication); 200 with
//! the cosignature lines, 409 `text/x.tlog.size` with the size last cosigned, else a problem
//! (400 malformed, 403 not signed by the log's key, 404 unknown log, 422 proof fails).
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::audit::witness::Added;
use crate::error::AppError;
use crate::usecase::witness;

pub async fn add_checkpoint(
    state: web::Data<AppState>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(w) = state.witness.clone() else {
        return Err(AppError::NotFound);
    };
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| AppError::BadRequest("the body must be UTF-8 text".into()))?;
    Ok(match witness::add_checkpoint(&state.hub, w, text).await? {
        Added::Cosigned(lines) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body(lines),
        Added::Conflict(size) => HttpResponse::Conflict()
            .insert_header((CONTENT_TYPE, "text/x.tlog.size"))
            .body(format!("{size}\n")),
    })
}
