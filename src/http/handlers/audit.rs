//! `/audit/...` and `/reports/disclosures`: reading, exporting and verifying the audit log,
//! tree heads and proofs. Scoping and logging happen in `usecase::audit`.
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::audit::verify::verify_log;
use crate::audit::LoggedEntry;
use crate::domain::audit_query::{AuditScope, EventFilter};
use crate::error::AppError;
use crate::http::extract::roles::{AnyRole, AuditReader};
use crate::http::extract::{parse_id, Authorized};
use crate::http::wire::audit::{
    csv_record, ConsistencyOut, DisclosureReportOut, EventOut, InclusionOut, TreeHeadOut,
    CSV_HEADER,
};
use crate::http::wire::audit_query::{
    ConsistencyQuery, DisclosureReportQuery, EventsQuery, ExportFormat, ExportQuery,
    InclusionQuery, PurposeQuery,
};
use crate::http::wire::page::page;
use crate::usecase;

/// Entries per page of a streamed export.
const EXPORT_PAGE: i64 = 500;

pub async fn events(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, AppError> {
    let req = query.parse()?;
    let now = state.clock.now();
    let p = auth.principal;
    let limit = req.limit;
    let rows = state
        .db
        .write(move |c| {
            usecase::audit::list_events(c, &p, &req.consult, &req.filter, req.after, limit + 1, now)
        })
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
    let now = state.clock.now();
    let p = auth.principal;
    let entry = state
        .db
        .write(move |c| usecase::audit::get_event(c, &p, &consult, seq, now))
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(&entry)))
}

pub async fn tree_head(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let runtime = state.audit.clone();
    let head = state
        .db
        .write(move |c| usecase::audit::tree_head(c, &runtime.signer, now))
        .await?;
    Ok(HttpResponse::Ok().json(TreeHeadOut::new(&head, state.audit.signer.public_key())))
}

pub async fn inclusion(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, AppError> {
    let seq = query
        .seq
        .ok_or_else(|| AppError::validation("/seq", "is required"))?;
    let size = query.tree_size;
    let proof = state
        .db
        .snapshot(move |c| usecase::audit::inclusion(c, seq, size))
        .await?;
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
    let second = query.second;
    let proof = state
        .db
        .snapshot(move |c| usecase::audit::consistency(c, first, second))
        .await?;
    Ok(HttpResponse::Ok().json(ConsistencyOut::from(&proof)))
}

pub async fn verify(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, AppError> {
    let consult = query.parse()?;
    let now = state.clock.now();
    let p = auth.principal;
    state
        .db
        .write(move |c| usecase::audit::log_verification(c, &p, &consult, now))
        .await?;
    let runtime = state.audit.clone();
    let report = state
        .db
        .snapshot(move |c| verify_log(c, &runtime.trusted, &mut |_, _| {}))
        .await?;
    if !report.ok {
        tracing::error!(
            first_bad_seq = ?report.first_bad_seq,
            problem = report.problem.as_deref().unwrap_or("-"),
            "audit log verification failed"
        );
    }
    Ok(HttpResponse::Ok().json(report))
}

/// Where a streamed export has got to.
struct ExportCursor {
    after: i64,
    header_sent: bool,
    done: bool,
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

pub async fn export(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let (format, consult, filter) = query.parse()?;
    let now = state.clock.now();
    let p = auth.principal;
    let start_filter = filter.clone();
    let (scope, upto) = state
        .db
        .write(move |c| {
            usecase::audit::start_export(c, &p, &consult, &start_filter, format.as_str(), now)
        })
        .await?;
    let db = state.db.clone();
    let cursor = ExportCursor {
        after: 0,
        header_sent: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(cursor, move |mut cur| {
        let db = db.clone();
        let filter: EventFilter = filter.clone();
        let scope: AuditScope = scope;
        async move {
            if cur.done {
                return None;
            }
            let mut out = Vec::new();
            if !cur.header_sent && format == ExportFormat::Csv {
                out.extend_from_slice(CSV_HEADER.as_bytes());
            }
            cur.header_sent = true;
            let after = cur.after;
            let page = db
                .read(move |c| {
                    usecase::audit::export_page(c, &filter, scope, after, upto, EXPORT_PAGE)
                })
                .await
                .and_then(|entries| {
                    render(format, &entries, &mut out)?;
                    Ok(entries
                        .last()
                        .map(|e| e.seq)
                        .filter(|_| entries.len() as i64 == EXPORT_PAGE))
                });
            match page {
                Ok(next) => {
                    match next {
                        Some(seq) => cur.after = seq,
                        None => cur.done = true,
                    }
                    Some((Ok::<Bytes, AppError>(Bytes::from(out)), cur))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    cur.done = true;
                    Some((Err(e), cur))
                }
            }
        }
    });
    let (content_type, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/jsonl", "jsonl"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-export-{upto}.{ext}\""),
        ))
        .streaming(stream))
}

pub async fn disclosure_report(
    state: web::Data<AppState>,
    auth: Authorized<AuditReader>,
    query: web::Query<DisclosureReportQuery>,
) -> Result<HttpResponse, AppError> {
    let req = query.parse()?;
    let now = state.clock.now();
    let p = auth.principal;
    let limit = req.limit;
    let subject_ref = req.subject_ref.clone();
    let (rows, as_of) = state
        .db
        .write(move |c| {
            usecase::audit::disclosure_report(
                c,
                &p,
                &req.consult,
                &req.subject_ref,
                req.after,
                limit + 1,
                now,
            )
        })
        .await?;
    let shown = page(rows, limit, |e| e.seq.to_string(), |e| EventOut::from(&e));
    Ok(HttpResponse::Ok().json(DisclosureReportOut {
        subject_ref,
        tree_size: as_of.tree_size,
        root_hash: hex::encode(as_of.root_hash),
        items: shown.items,
        next_cursor: shown.next_cursor,
    }))
}
