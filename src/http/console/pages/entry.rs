//! `/console/audit/entries/{id}`: one audit entry, every field, agencies by name; its
//! inclusion proof checked against the latest signed tree head, and that head with its
//! signature. Read and logged through the same use case as `GET /audit/events/{seq}`.
use actix_web::{web, HttpResponse};
use askama::Template;
use base64::Engine;

use super::audit::actor_text;
use super::{consult_or_ask, failure, when, Names};
use crate::app::AppState;
use crate::error::AppError;
use crate::http::console::context::ConsoleUser;
use crate::http::console::page::{self, Chrome};
use crate::usecase::audit::{self, EntryEvidence};
use crate::usecase::directory;

const SECTION: &str = "audit";

/// One field of the entry, as a row of the table.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "console/pages/entry.html")]
pub struct EntryPage {
    pub chrome: Chrome,
    pub fields: Vec<Field>,
    /// (reference, link to its person report).
    pub subject_refs: Vec<(String, String)>,
    pub included: bool,
    pub signature_ok: bool,
    pub signature_problem: String,
    pub leaf_index: u64,
    pub audit_path: Vec<String>,
    pub head_size: u64,
    pub head_root: String,
    pub head_time: String,
    pub head_key: String,
    pub head_signature: String,
    pub canonical: String,
}

fn join_names(ids: &[crate::domain::ids::AgencyId], names: &Names) -> String {
    ids.iter()
        .map(|a| names.of(a))
        .collect::<Vec<_>>()
        .join(", ")
}

impl EntryPage {
    pub fn new(chrome: Chrome, ev: &EntryEvidence, names: &Names) -> EntryPage {
        let l = &ev.entry;
        let e = &l.entry;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let lb = e.lawful_basis.as_ref().map(|b| match &b.special_category {
            Some(s) => format!("{} {} (special category: {s})", b.regime, b.condition),
            None => format!("{} {}", b.regime, b.condition),
        });
        let fields = vec![
            Field {
                name: "Sequence number",
                value: l.seq.to_string(),
            },
            Field {
                name: "Operation",
                value: e.operation.as_str().to_owned(),
            },
            Field {
                name: "When",
                value: when(e.occurred_at),
            },
            Field {
                name: "Actor",
                value: actor_text(&e.actor, names),
            },
            Field {
                name: "Actor's identity provider",
                value: e.actor.issuer.clone(),
            },
            Field {
                name: "Actor's roles",
                value: e
                    .actor
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            Field {
                name: "Record kind",
                value: opt(&e.record_kind),
            },
            Field {
                name: "Record id",
                value: opt(&e.record_id),
            },
            Field {
                name: "Recipients",
                value: join_names(&e.recipients, names),
            },
            Field {
                name: "Agencies concerned",
                value: join_names(&e.concerns, names),
            },
            Field {
                name: "Withheld from",
                value: join_names(&e.withheld_from, names),
            },
            Field {
                name: "Data items",
                value: e.data_items.join(", "),
            },
            Field {
                name: "Purpose",
                value: opt(&e.purpose),
            },
            Field {
                name: "Justification",
                value: opt(&e.justification),
            },
            Field {
                name: "Agreement",
                value: e
                    .agreement
                    .as_ref()
                    .map(|a| format!("{} version {}", a.id, a.version))
                    .unwrap_or_default(),
            },
            Field {
                name: "Lawful basis",
                value: lb.unwrap_or_default(),
            },
            Field {
                name: "Consent",
                value: opt(&e.consent),
            },
            Field {
                name: "Classification",
                value: opt(&e.classification),
            },
            Field {
                name: "Decision",
                value: e.decision.map(|d| d.as_str()).unwrap_or("").to_owned(),
            },
            Field {
                name: "Reasons",
                value: e.reasons.join("; "),
            },
            Field {
                name: "Retention (days)",
                value: e.retention_days.map(|d| d.to_string()).unwrap_or_default(),
            },
            Field {
                name: "Leaf hash",
                value: hex::encode(l.leaf_hash),
            },
            Field {
                name: "Receipt",
                value: format!(
                    "tree size {}, root {}",
                    l.receipt.tree_size, l.receipt.root_hash
                ),
            },
        ];
        EntryPage {
            chrome,
            fields,
            subject_refs: e
                .subject_refs
                .iter()
                .map(|s| (s.clone(), super::audit::person_link(s)))
                .collect(),
            included: ev.included,
            signature_ok: ev.signature.is_ok(),
            signature_problem: ev.signature.clone().err().unwrap_or_default(),
            leaf_index: ev.proof.leaf_index,
            audit_path: ev.proof.audit_path.iter().map(hex::encode).collect(),
            head_size: ev.head.tree_size,
            head_root: hex::encode(ev.head.root_hash),
            head_time: when(ev.head.timestamp),
            head_key: ev.head.key_id.clone(),
            head_signature: base64::engine::general_purpose::STANDARD.encode(&ev.head.signature),
            canonical: l.body.clone(),
        }
    }
}

/// `GET /console/audit/entries/{id}`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let title = format!("Audit entry {id}");
    let chrome = Chrome::new(&user, title.clone(), SECTION);
    let here = format!("/console/audit/entries/{}", super::encode(&id));
    let consult = match consult_or_ask(&user, &title, SECTION, here) {
        Ok(c) => c,
        Err(form) => return Ok(*form),
    };
    let Ok(seq) = id.parse::<i64>() else {
        return failure(chrome, &AppError::NotFound);
    };
    let names = match directory::names(&state.hub).await {
        Ok(n) => Names(n),
        Err(e) => return failure(chrome, &e),
    };
    match audit::event_with_proof(
        &state.hub,
        user.principal.clone(),
        consult,
        seq,
        &state.audit,
    )
    .await
    {
        Ok(ev) => page::html(&EntryPage::new(chrome, &ev, &names)),
        Err(e) => failure(chrome, &e),
    }
}
