//! `/console/verify`: the last verification's result (`?run=1` runs one, logged with the
//! session's purpose through the same use case as `GET /audit/verify`), the latest signed
//! tree head and its C2SP checkpoint, and the witnesses the hub knows of.
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::Engine;

use super::{consult_or_ask, failure, when, Params};
use crate::app::AppState;
use crate::audit::verify::Report;
use crate::error::AppError;
use crate::http::console::context::ConsoleUser;
use crate::http::console::page::{self, Chrome};
use crate::usecase::audit;

const TITLE: &str = "Verify the audit log";
const SECTION: &str = "verify";

#[derive(Template)]
#[template(path = "console/pages/verify.html")]
pub struct VerifyPage {
    pub chrome: Chrome,
    pub report: Option<Report>,
    /// Whether this request ran (or was answered by) a verification.
    pub ran: bool,
    pub head_size: u64,
    pub head_root: String,
    pub head_time: String,
    pub head_key: String,
    pub head_signature: String,
    pub checkpoint: String,
    pub verifier_key: String,
    /// The witnesses cosigning this hub's checkpoints (none are configured yet).
    pub witnesses: Vec<String>,
}

/// `GET /console/verify[?run=1]`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = Chrome::new(&user, TITLE, SECTION);
    let run = Params::parse(req.query_string()).one("run").is_some();
    let mut report = audit::last_verification(&state.audit);
    if run {
        let consult = match consult_or_ask(&user, TITLE, SECTION, "/console/verify?run=1".into()) {
            Ok(c) => c,
            Err(form) => return Ok(*form),
        };
        match audit::verify(&state.hub, user.principal.clone(), consult, &state.audit).await {
            Ok(r) => report = Some(r),
            Err(e) => return failure(chrome, &e),
        }
    }
    let head = match audit::tree_head(&state.hub, &state.audit).await {
        Ok(h) => h,
        Err(e) => return failure(chrome, &e),
    };
    let checkpoint = match state.audit.checkpoint(&head) {
        Ok(c) => c,
        Err(e) => return failure(chrome, &e),
    };
    page::html(&VerifyPage {
        chrome,
        report,
        ran: run,
        head_size: head.tree_size,
        head_root: hex::encode(head.root_hash),
        head_time: when(head.timestamp),
        head_key: head.key_id.clone(),
        head_signature: base64::engine::general_purpose::STANDARD.encode(&head.signature),
        checkpoint,
        verifier_key: state.audit.verifier_key(),
        witnesses: Vec::new(),
    })
}
