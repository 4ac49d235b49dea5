//! Asking witnesses to cosign the log's checkpoints (C2SP `tlog-witness`), and holding the
//! log to what they cosigned.
//!
//! Each round signs the current head (when the log has grown), and asks every configured
//! witness (`[[audit.witnesses]]`) to cosign it: `POST {url}/add-checkpoint` with the size the
//! witness last cosigned, the consistency proof from it, a blank line and the checkpoint. A
//! 409 names the witness's size: the round retries once from it. Cosignatures that verify
//! with the witness's key are stored (`audit_cosignatures`) and served with the checkpoint;
//! once `audit.witness_quorum` witnesses cosigned a checkpoint it counts as witnessed, and the
//! highest one is kept in a file outside the database.
//!
//! Rollback: a witness that has cosigned a larger log than this one, or refuses the proof
//! from its size, and a kept checkpoint the log is shorter than or inconsistent with, mean
//! the database was restored or cut: every write is refused from then on (503) and
//! `/readyz` says why. Witness requests go through the SSRF-checked resolver of webhook
//! delivery; loopback and `http://` only where `audit.witness_allow_*` allow them.
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use prometheus::{IntGauge, IntGaugeVec, Opts};
use serde::Serialize;

use super::checkpoint;
use super::cosign::CosignerKey;
use super::heads::{self, SignedTreeHead};
use super::proofs;
use super::AuditRuntime;
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::ssrf::{self, CheckedResolver, Rules};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::service::store::time::to_db;
use crate::service::store::witnessing::{self as rows, CosignatureRow};
use crate::service::store::Db;

/// One configured witness.
struct Endpoint {
    name: String,
    url: url::Url,
    key: CosignerKey,
}

/// What the hub knows of one witness.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WitnessView {
    pub name: String,
    /// The largest size it cosigned (or told us it holds).
    pub size: u64,
    /// Entries of the log it has not cosigned yet.
    pub lag: u64,
    /// The last round's failure, if it failed.
    pub error: Option<String>,
}

/// Witnessing as `/readyz` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Witnessed {
    pub quorum: usize,
    pub log_size: u64,
    /// The largest checkpoint with a quorum of cosignatures.
    pub witnessed_size: u64,
    /// Entries of the log not yet witnessed.
    pub lag: u64,
    pub witnesses: Vec<WitnessView>,
}

/// The witnessing client of one hub process.
pub struct Witnessing {
    db: Db,
    clock: Clock,
    runtime: Arc<AuditRuntime>,
    endpoints: Vec<Endpoint>,
    quorum: usize,
    rules: Rules,
    client: reqwest::Client,
    kept: PathBuf,
    state: Mutex<Witnessed>,
    lag: IntGaugeVec,
    unwitnessed: IntGauge,
}

impl Witnessing {
    pub fn new(
        db: Db,
        clock: Clock,
        runtime: Arc<AuditRuntime>,
        settings: &Settings,
        metrics: &Metrics,
    ) -> Result<Self, AppError> {
        let a = &settings.audit;
        let rules = Rules {
            allow_insecure_http: a.witness_allow_insecure_http,
            allow_private_networks: a.witness_allow_private_networks,
        };
        let mut endpoints = Vec::new();
        for w in &a.witnesses {
            let key = CosignerKey::parse(&w.verifier_key).map_err(|e| {
                AppError::Config(format!("audit.witnesses {}: verifier_key {e}", w.name))
            })?;
            if key.name != w.name {
                return Err(AppError::Config(format!(
                    "audit.witnesses {}: its verifier key names {}",
                    w.name, key.name
                )));
            }
            let url = ssrf::check_syntax(w.url.trim_end_matches('/'), rules)
                .and_then(|u| ssrf::check_literal(&u, rules).map(|()| u))
                .map_err(|e| AppError::Config(format!("audit.witnesses {}: url {e}", w.name)))?;
            endpoints.push(Endpoint {
                name: w.name.clone(),
                url,
                key,
            });
        }
        if a.witness_quorum > endpoints.len() {
            return Err(AppError::Config(format!(
                "audit.witness_quorum {} is more than the {} witnesses configured",
                a.witness_quorum,
                endpoints.len()
            )));
        }
        let timeout = Duration::from_secs(a.witness_timeout_secs.max(1));
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .dns_resolver(Arc::new(CheckedResolver { rules, timeout }))
            .build()
            .map_err(|e| AppError::internal(format!("witness client: {e}")))?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "audit_witness_lag_entries",
                "Log entries each witness has not cosigned yet",
            ),
            &["witness"],
        )
        .map_err(AppError::internal)?;
        let unwitnessed = IntGauge::new(
            "audit_unwitnessed_entries",
            "Log entries past the largest checkpoint with a quorum of cosignatures",
        )
        .map_err(AppError::internal)?;
        metrics
            .registry
            .register(Box::new(lag.clone()))
            .map_err(AppError::internal)?;
        metrics
            .registry
            .register(Box::new(unwitnessed.clone()))
            .map_err(AppError::internal)?;
        let state = Witnessed {
            quorum: a.witness_quorum,
            witnesses: endpoints
                .iter()
                .map(|e| WitnessView {
                    name: e.name.clone(),
                    ..WitnessView::default()
                })
                .collect(),
            ..Witnessed::default()
        };
        Ok(Witnessing {
            db,
            clock,
            runtime,
            endpoints,
            quorum: a.witness_quorum,
            rules,
            client,
            kept: settings.witnessed_checkpoint_path(),
            state: Mutex::new(state),
            lag,
            unwitnessed,
        })
    }

    /// Whether any witness is configured.
    pub fn is_configured(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// Witnessing now, for `/readyz`.
    pub fn status(&self) -> Witnessed {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// At start: the kept witnessed checkpoint against the log. A log shorter than it or
    /// inconsistent with it halts writes.
    pub async fn check_kept(&self) -> Result<(), AppError> {
        let text = match std::fs::read_to_string(&self.kept) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(AppError::Config(format!(
                    "cannot read {}: {e}",
                    self.kept.display()
                )))
            }
        };
        let keys = self.runtime.trusted.clone();
        let verdict = self
            .db
            .snapshot(move |c| Ok(super::held::check(c, &keys, &text)))
            .await?;
        if let Err(why) = verdict {
            self.halt(format!(
                "the witnessed checkpoint kept in {}: {why}",
                self.kept.display()
            ));
        }
        Ok(())
    }

    fn halt(&self, why: String) {
        tracing::error!(why = %why, "audit log rolled back: writes are refused");
        self.db.halt_writes(why);
    }

    /// Runs rounds every `every` until the hub is dropped, the first one now.
    pub fn spawn(self: Arc<Self>, every: Duration) {
        let weak: Weak<Self> = Arc::downgrade(&self);
        drop(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(w) = weak.upgrade() else { break };
                if let Err(e) = w.round().await {
                    tracing::warn!(error = %e, "witnessing round failed");
                }
            }
        });
    }

    /// One round: the current checkpoint to every witness.
    pub async fn round(&self) -> Result<(), AppError> {
        if self.endpoints.is_empty() || self.db.halted().is_some() {
            return Ok(());
        }
        let known = self.db.read(rows::cosigned_sizes).await?;
        let runtime = self.runtime.clone();
        let now = self.clock.now();
        let head = self
            .db
            .write(move |c| heads::current(c, &runtime.signer, now))
            .await?;
        let note = self.runtime.checkpoint(&head)?;
        let mut views = Vec::new();
        for e in &self.endpoints {
            let start = known
                .iter()
                .find(|(w, _)| w == &e.name)
                .map_or(0, |(_, s)| u64::try_from(*s).unwrap_or(0));
            let start = self
                .status()
                .witnesses
                .iter()
                .find(|v| v.name == e.name)
                .map_or(start, |v| v.size.max(start));
            let mut view = WitnessView {
                name: e.name.clone(),
                size: start,
                ..WitnessView::default()
            };
            if let Err(why) = self.ask(e, &head, &note, &mut view).await {
                tracing::warn!(witness = %e.name, error = %why, "witness did not cosign");
                view.error = Some(why);
            }
            view.lag = head.tree_size.saturating_sub(view.size);
            self.lag
                .with_label_values(&[&e.name])
                .set(i64::try_from(view.lag).unwrap_or(i64::MAX));
            views.push(view);
        }
        let witnessed = self.witnessed_size(&head, &note).await?;
        let lag = head.tree_size.saturating_sub(witnessed);
        self.unwitnessed.set(i64::try_from(lag).unwrap_or(i64::MAX));
        if let Ok(mut s) = self.state.lock() {
            *s = Witnessed {
                quorum: self.quorum,
                log_size: head.tree_size,
                witnessed_size: witnessed.max(s.witnessed_size),
                lag,
                witnesses: views,
            };
        }
        Ok(())
    }

    /// Asks one witness to cosign `head`; `view.size` follows what it answers.
    async fn ask(
        &self,
        e: &Endpoint,
        head: &SignedTreeHead,
        note: &str,
        view: &mut WitnessView,
    ) -> Result<(), String> {
        let body_text = checkpoint::body(&self.runtime.origin, head);
        for _ in 0..2 {
            let old = view.size;
            if old > head.tree_size {
                self.halt(format!(
                    "witness {} has cosigned a checkpoint of {old} entries, but the log has {}",
                    e.name, head.tree_size
                ));
                return Err("the witness has seen a larger log".into());
            }
            let proof = if old == 0 || old == head.tree_size {
                Vec::new()
            } else {
                let size = head.tree_size;
                self.db
                    .snapshot(move |c| proofs::consistency(c, old, size))
                    .await
                    .map_err(|e| e.to_string())?
                    .proof
            };
            let mut body = format!("old {old}\n");
            for h in &proof {
                body.push_str(&STANDARD.encode(h));
                body.push('\n');
            }
            body.push('\n');
            body.push_str(note);
            let url = format!("{}/add-checkpoint", e.url.as_str().trim_end_matches('/'));
            ssrf::check_literal(&e.url, self.rules).map_err(|r| r.to_string())?;
            let resp = self
                .client
                .post(&url)
                .body(body)
                .send()
                .await
                .map_err(|err| format!("request failed: {}", err.without_url()))?;
            let status = resp.status().as_u16();
            let text = resp
                .text()
                .await
                .map_err(|_| "unreadable answer".to_owned())?;
            match status {
                200 => return self.store(e, head, &body_text, &text, view).await,
                409 => {
                    let theirs: u64 = text
                        .trim_end()
                        .parse()
                        .map_err(|_| "409 without a size".to_owned())?;
                    if theirs == old {
                        self.halt(format!(
                            "witness {} has cosigned another checkpoint of {old} entries",
                            e.name
                        ));
                        return Err("the witness holds another root at this size".into());
                    }
                    view.size = theirs;
                }
                422 => {
                    self.halt(format!(
                        "witness {} refused the consistency proof from the {old} entries it \
                         cosigned: the log is inconsistent with it",
                        e.name
                    ));
                    return Err("the witness refused the consistency proof".into());
                }
                other => return Err(format!("the witness answered {other}")),
            }
        }
        if view.size > head.tree_size {
            self.halt(format!(
                "witness {} has cosigned a checkpoint of {} entries, but the log has {}",
                e.name, view.size, head.tree_size
            ));
        }
        Err("the witness's size kept changing".into())
    }

    /// Stores the cosignatures in a 200 answer that verify with the witness's key.
    async fn store(
        &self,
        e: &Endpoint,
        head: &SignedTreeHead,
        body_text: &str,
        answer: &str,
        view: &mut WitnessView,
    ) -> Result<(), String> {
        let line = answer
            .lines()
            .map(|l| format!("{l}\n"))
            .find(|l| e.key.check_line(body_text, l).is_ok())
            .ok_or("no cosignature from its key in the answer")?;
        let row = CosignatureRow {
            tree_size: i64::try_from(head.tree_size).map_err(|_| "size overflows")?,
            witness: e.name.clone(),
            signature_line: line,
            cosigned_at: to_db(self.clock.now()),
        };
        self.db
            .write(move |c| rows::insert_cosignature(c, &row))
            .await
            .map_err(|e| e.to_string())?;
        view.size = head.tree_size;
        Ok(())
    }

    /// The largest witnessed size; keeps the checkpoint outside the database when `head`
    /// reached the quorum.
    async fn witnessed_size(&self, head: &SignedTreeHead, note: &str) -> Result<u64, AppError> {
        if self.quorum == 0 {
            return Ok(head.tree_size);
        }
        let size = i64::try_from(head.tree_size).map_err(AppError::internal)?;
        let lines = self
            .db
            .read(move |c| rows::cosignatures_at(c, size))
            .await?;
        let names: Vec<&str> = self.endpoints.iter().map(|e| e.name.as_str()).collect();
        let counted = lines
            .iter()
            .filter(|r| names.contains(&r.witness.as_str()))
            .count();
        if counted < self.quorum {
            return Ok(self.status().witnessed_size);
        }
        let mut text = note.to_owned();
        for l in &lines {
            text.push_str(&l.signature_line);
        }
        keep(&self.kept, &text)?;
        Ok(head.tree_size)
    }
}

/// Writes the witnessed checkpoint to `path` (through a temporary file and a rename).
fn keep(path: &std::path::Path, text: &str) -> Result<(), AppError> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(AppError::internal)?;
    std::fs::rename(&tmp, path).map_err(AppError::internal)
}

/// Every cosignature line stored for the checkpoint of `size` leaves, in witness order.
pub fn cosignature_lines(
    conn: &mut crate::service::store::DbConn,
    size: u64,
) -> Result<String, AppError> {
    let size = i64::try_from(size).map_err(AppError::internal)?;
    Ok(rows::cosignatures_at(conn, size)?
        .into_iter()
        .map(|r| r.signature_line)
        .collect())
}
