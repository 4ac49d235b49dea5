//! `/audit/...` and `/reports/disclosures`: reading, exporting and verifying the audit log,
//! tree heads and proofs. Scoping and logging happen in `usecase::audit`; each handler
//! extracts, makes one call and shapes the answer (an export is rendered as CSV or JSON
//! lines while its pages stream).
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;

use crate::app::AppState;
use crate::audit::LoggedEntry;
use crate::error::AppError;
use crate::http::extract::roles::{AnyRole, AuditReader};
use crate::http::extract::{parse_id, Authorized};
use crate::http::wire::audit::{
    csv_record, ConsistencyOut, DisclosureReportOut, EventOut, InclusionOut, TreeHeadOut,
    CSV_HEADER,
};
use crate::http::wire::audit_query::{
    CheckpointQuery, ConsistencyQuery, DisclosureReportQuery, EventsQuery, ExportFormat,
    ExportQuery, InclusionQuery, PurposeQuery,
};
use crate::http::wire::page::page;
use crate::usecase::audit;

pub async fn events(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, AppError> {
    let req = query.parse()?;
    let limit = req.limit;
    let rows = audit::events(
        &state.hub,
        auth.principal,
        req.consult,
        req.filter,
        req.after,
        limit + 1,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |e| e.seq.to_string(),
        |e| EventOut::from(&e),
    )))
}

pub async fn event(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    seq: web::Path<String>,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, AppError> {
    let seq: i64 = parse_id(&seq)?;
    let consult = query.parse()?;
    let entry = audit::event(&state.hub, auth.principal, consult, seq).await?;
    Ok(HttpResponse::Ok().json(EventOut::from(&entry)))
}

pub async fn tree_head(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
) -> Result<HttpResponse, AppError> {
    let head = audit::tree_head(&state.hub, &state.audit).await?;
    Ok(HttpResponse::Ok().json(TreeHeadOut::new(&head, state.audit.signer.public_key())))
}

/// `GET /audit/checkpoint`: the current signed head as a C2SP checkpoint (signed note).
pub async fn checkpoint(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
) -> Result<HttpResponse, AppError> {
    let head = audit::tree_head(&state.hub, &state.audit).await?;
    cosigned(&state, &head).await
}

/// `head` as a checkpoint with the witnesses' cosignatures after the hub's signature.
async fn cosigned(
    state: &AppState,
    head: &crate::audit::heads::SignedTreeHead,
) -> Result<HttpResponse, AppError> {
    let mut text = state.audit.checkpoint(head)?;
    text.push_str(&crate::usecase::witness::cosignatures(&state.hub, head.tree_size).await?);
    note(text)
}

/// `GET /audit/checkpoints?size=N`: the stored signed head of that size as a checkpoint.
pub async fn checkpoint_at(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
    query: web::Query<CheckpointQuery>,
) -> Result<HttpResponse, AppError> {
    let size = query
        .size
        .ok_or_else(|| AppError::validation("/size", "is required"))?;
    let head = audit::stored_tree_head(&state.hub, size).await?;
    cosigned(&state, &head).await
}

/// `GET /audit/verifier-key`: the key checkpoints verify with, in the note `vkey` form.
pub async fn verifier_key(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
) -> Result<HttpResponse, AppError> {
    note(format!("{}\n", state.audit.verifier_key()))
}

/// `GET /audit/verifier-keys`: every key the log's checkpoints verify with, one `vkey` a
/// line, the current one first and then the earlier ones kept after a rotation.
pub async fn verifier_keys(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
) -> Result<HttpResponse, AppError> {
    let mut text = state.audit.verifier_keys().join("\n");
    text.push('\n');
    note(text)
}

fn note(text: String) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body(text))
}

pub async fn inclusion(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, AppError> {
    let seq = query
        .seq
        .ok_or_else(|| AppError::validation("/seq", "is required"))?;
    let proof = audit::inclusion(&state.hub, seq, query.tree_size).await?;
    Ok(HttpResponse::Ok().json(InclusionOut::from(&proof)))
}

pub async fn consistency(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, AppError> {
    let first = query
        .first
        .ok_or_else(|| AppError::validation("/first", "is required"))?;
    let proof = audit::consistency(&state.hub, first, query.second).await?;
    Ok(HttpResponse::Ok().json(ConsistencyOut::from(&proof)))
}

pub async fn verify(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, AppError> {
    let consult = query.parse()?;
    let report = audit::verify(&state.hub, auth.principal, consult, &state.audit).await?;
    Ok(HttpResponse::Ok().json(report))
}

fn render(
    format: ExportFormat,
    entries: &[LoggedEntry],
    out: &mut Vec<u8>,
) -> Result<(), AppError> {
    for e in entries {
        let shown = EventOut::from(e);
        match format {
            ExportFormat::Csv => out.extend_from_slice(csv_record(&shown).as_bytes()),
            ExportFormat::Jsonl => {
                serde_json::to_writer(&mut *out, &shown)?;
                out.push(b'\n');
            }
        }
    }
    Ok(())
}

/// How far the rendering of an export has got.
#[derive(Default)]
struct Rendering {
    header_sent: bool,
    stopped: bool,
}

pub async fn export(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let (format, consult, filter) = query.parse()?;
    let export =
        audit::export(&state.hub, auth.principal, consult, filter, format.as_str()).await?;
    Ok(export_response(export, format).finish_streaming())
}

/// An export under way, as a streamed attachment in `format` (the API's and the console's).
pub struct ExportResponse {
    builder: actix_web::HttpResponseBuilder,
    body: futures_util::stream::BoxStream<'static, Result<Bytes, AppError>>,
}

impl ExportResponse {
    /// Adds a header before the body streams.
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.builder.insert_header((name, value));
        self
    }

    pub fn finish_streaming(mut self) -> HttpResponse {
        self.builder.streaming(self.body)
    }
}

/// Renders `export`'s pages as CSV or JSON Lines while they stream.
pub fn export_response(export: audit::Export, format: ExportFormat) -> ExportResponse {
    let upto = export.upto;
    let body = export.pages.scan(Rendering::default(), move |r, entries| {
        if r.stopped {
            return futures_util::future::ready(None);
        }
        let mut out = Vec::new();
        if !r.header_sent && format == ExportFormat::Csv {
            out.extend_from_slice(CSV_HEADER.as_bytes());
        }
        r.header_sent = true;
        let chunk = entries
            .and_then(|entries| render(format, &entries, &mut out))
            .map(|()| Bytes::from(out));
        if let Err(e) = &chunk {
            tracing::error!(error = %e, "audit export stopped");
            r.stopped = true;
        }
        futures_util::future::ready(Some(chunk))
    });
    let (content_type, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/jsonl", "jsonl"),
    };
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-export-{upto}.{ext}\""),
        ));
    ExportResponse {
        builder,
        body: body.boxed(),
    }
}

pub async fn disclosure_report(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<DisclosureReportQuery>,
) -> Result<HttpResponse, AppError> {
    let req = query.parse()?;
    let limit = req.limit;
    let subject_ref = req.subject_ref.clone();
    let (rows, as_of) = audit::disclosures(
        &state.hub,
        auth.principal,
        req.consult,
        req.subject_ref,
        req.after,
        limit + 1,
    )
    .await?;
    let shown = page(
        rows,
        limit,
        |e| e.seq.to_string(),
        |e| EventOut::from(&e).for_subject(&subject_ref),
    );
    Ok(HttpResponse::Ok().json(DisclosureReportOut {
        subject_ref,
        tree_size: as_of.tree_size,
        root_hash: hex::encode(as_of.root_hash),
        items: shown.items,
        next_cursor: shown.next_cursor,
    }))
}
