//! Which issuers the hub accepts and what each one speaks for: the operator's issuers from
//! configuration, and each agency's registered identity provider from the database (cached
//! for a short time, and dropped at once when this process changes a registration). Issuers
//! found unregistered are remembered too (a bounded number, for the same time), so tokens
//! naming an unknown issuer cost no database query each.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::config::IssuerSettings;
use crate::domain::agency::IdentityProvider;
use crate::domain::ids::AgencyId;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::service::store::{identity_providers, Db};

/// An accepted issuer and how to read its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerEntry {
    pub issuer: String,
    pub audience: String,
    pub roles_path: Vec<String>,
    pub role_map: BTreeMap<String, Role>,
    pub accept_jwt_typ: bool,
    /// The agency this issuer speaks for; `None` for the hub operator.
    pub agency_id: Option<AgencyId>,
}

impl IssuerEntry {
    pub fn for_agency(p: &IdentityProvider) -> Self {
        IssuerEntry {
            issuer: p.issuer.clone(),
            audience: p.audience.clone(),
            roles_path: p.roles_claim.split('.').map(str::to_owned).collect(),
            role_map: p.role_map.clone(),
            accept_jwt_typ: p.accept_jwt_typ,
            agency_id: Some(p.agency_id),
        }
    }

    /// An operator issuer from configuration; only `hub_admin`/`hub_auditor` are kept.
    pub fn for_operator(s: &IssuerSettings) -> Result<Self, AppError> {
        let mut role_map = BTreeMap::new();
        for (k, v) in &s.role_map {
            let role: Role = v.parse().map_err(|_| {
                AppError::Config(format!("identity.operators: `{v}` is not a hub role"))
            })?;
            if !role.is_operator_role() {
                return Err(AppError::Config(format!(
                    "identity.operators: an operator issuer maps only to hub_admin or \
                     hub_auditor, not `{v}`"
                )));
            }
            role_map.insert(k.clone(), role);
        }
        Ok(IssuerEntry {
            issuer: s.issuer.clone(),
            audience: s.audience.clone(),
            roles_path: s.roles_claim.split('.').map(str::to_owned).collect(),
            role_map,
            accept_jwt_typ: s.accept_jwt_typ,
            agency_id: None,
        })
    }
}

/// Longest issuer a registration may name (`domain::agency::parse_issuer`).
const MAX_ISSUER_LEN: usize = 500;

/// The issuer registry.
pub struct Registry {
    db: Db,
    operators: HashMap<String, Arc<IssuerEntry>>,
    cache: RwLock<HashMap<String, (Instant, Arc<IssuerEntry>)>>,
    /// Issuers the database did not know, and when it said so.
    unknown: RwLock<HashMap<String, Instant>>,
    unknown_max: usize,
    ttl: Duration,
    db_lookups: AtomicU64,
}

impl Registry {
    pub fn new(db: Db, operators: Vec<IssuerEntry>, ttl: Duration) -> Self {
        Registry {
            db,
            operators: operators
                .into_iter()
                .map(|e| (e.issuer.clone(), Arc::new(e)))
                .collect(),
            cache: RwLock::new(HashMap::new()),
            unknown: RwLock::new(HashMap::new()),
            unknown_max: 4096,
            ttl,
            db_lookups: AtomicU64::new(0),
        }
    }

    /// Remembers at most `n` unregistered issuers (0: none).
    pub fn with_unknown_issuers_cached(mut self, n: usize) -> Self {
        self.unknown_max = n;
        self
    }

    /// How many look-ups went to the database.
    pub fn db_lookups(&self) -> u64 {
        self.db_lookups.load(Ordering::Relaxed)
    }

    /// Whether `issuer` is one of the operator's.
    pub fn is_operator_issuer(&self, issuer: &str) -> bool {
        self.operators.contains_key(issuer)
    }

    /// The entry for exactly `issuer`, if it is registered.
    pub async fn lookup(&self, issuer: &str) -> Result<Option<Arc<IssuerEntry>>, AppError> {
        if let Some(e) = self.operators.get(issuer) {
            return Ok(Some(e.clone()));
        }
        if issuer.len() > MAX_ISSUER_LEN {
            return Ok(None);
        }
        if let Ok(cache) = self.cache.read() {
            if let Some((at, e)) = cache.get(issuer) {
                if at.elapsed() < self.ttl {
                    return Ok(Some(e.clone()));
                }
            }
        }
        if let Ok(unknown) = self.unknown.read() {
            if unknown
                .get(issuer)
                .is_some_and(|at| at.elapsed() < self.ttl)
            {
                return Ok(None);
            }
        }
        self.db_lookups.fetch_add(1, Ordering::Relaxed);
        let owned = issuer.to_owned();
        let found = self
            .db
            .read(move |c| identity_providers::by_issuer(c, &owned))
            .await?;
        let entry = found.map(|p| Arc::new(IssuerEntry::for_agency(&p)));
        if let Ok(mut cache) = self.cache.write() {
            match &entry {
                Some(e) => {
                    cache.insert(issuer.to_owned(), (Instant::now(), e.clone()));
                }
                None => {
                    cache.remove(issuer);
                }
            }
        }
        if entry.is_none() && self.unknown_max > 0 {
            if let Ok(mut unknown) = self.unknown.write() {
                if unknown.len() >= self.unknown_max {
                    let ttl = self.ttl;
                    unknown.retain(|_, at| at.elapsed() < ttl);
                    if unknown.len() >= self.unknown_max {
                        unknown.clear();
                    }
                }
                unknown.insert(issuer.to_owned(), Instant::now());
            }
        }
        Ok(entry)
    }

    /// Forgets every cached registration of `agency` (after it changed here), and every
    /// issuer remembered as unregistered (the agency may have registered one of them).
    pub fn invalidate_agency(&self, agency: AgencyId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.retain(|_, (_, e)| e.agency_id != Some(agency));
        }
        if let Ok(mut unknown) = self.unknown.write() {
            unknown.clear();
        }
    }
}
