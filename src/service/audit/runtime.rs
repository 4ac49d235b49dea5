//! What the running hub keeps for its audit trail: the tree-head signing key, the keys
//! verification trusts, and the budgets for logging refused requests.
use super::checkpoint;
use super::denials::DenialBudget;
use super::heads::{TreeHeadSigner, TrustedKeys};
use super::verify::Verifications;
use crate::config::Settings;
use crate::error::AppError;
use crate::service::store::Backend;

/// The audit trail's run-time state, shared by every request.
#[derive(Debug)]
pub struct AuditRuntime {
    pub signer: TreeHeadSigner,
    pub trusted: TrustedKeys,
    /// The log's name in its C2SP checkpoints and verifier key.
    pub origin: String,
    /// Refusals of requests without a valid token (per client address).
    pub denials: DenialBudget,
    /// Refusals of authenticated callers (per principal): a budget of their own, so a flood
    /// of bad tokens never silences what known principals were refused.
    pub principal_denials: DenialBudget,
    /// `GET /audit/verify`: one run at a time, its report kept.
    pub verifications: Verifications,
}

impl AuditRuntime {
    /// Loads the signing key named by the settings, generating it only while the log has no
    /// signed tree heads (`signed_by`: the ids of the keys that signed the stored ones).
    /// Refuses to start, saying why, when the key is missing once heads exist, when a
    /// PostgreSQL deployment (several hosts, one log) relies on a per-host default key, and
    /// when stored heads are signed by a key that is neither this one nor a listed earlier one.
    pub fn load(
        settings: &Settings,
        backend: Backend,
        signed_by: &[String],
        origin: String,
    ) -> Result<Self, AppError> {
        checkpoint::check_origin(&origin)?;
        let signer = signer_for(settings, backend, signed_by)?;
        let trusted = trusted_keys(settings, Some(&signer))?;
        let unknown: Vec<&str> = signed_by
            .iter()
            .filter(|id| trusted.get(id).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(AppError::Config(format!(
                "the audit log has tree heads signed by key {} but the signing key {} is key \
                 {}: use the deployment's key, or list the earlier key's public key in \
                 audit.trusted_public_keys when it was rotated",
                unknown.join(", "),
                settings.audit_key_path().display(),
                signer.key_id()
            )));
        }
        tracing::info!(
            key_id = signer.key_id(),
            verifier_key = checkpoint::verifier_key(&origin, &signer.verifying_key()),
            "audit signing key loaded; checkpoints verify with this verifier key"
        );
        for k in trusted
            .verifying_keys()
            .filter(|k| **k != signer.verifying_key())
        {
            tracing::info!(
                verifier_key = checkpoint::verifier_key(&origin, k),
                "earlier audit signing key trusted; checkpoints it signed still verify"
            );
        }
        Ok(AuditRuntime {
            signer,
            trusted,
            origin,
            denials: DenialBudget::new(
                settings.audit.denials_per_source_per_minute,
                settings.audit.denials_per_minute,
            ),
            principal_denials: DenialBudget::new(
                settings.audit.denials_per_source_per_minute,
                settings.audit.denials_per_minute,
            ),
            verifications: Verifications::new(),
        })
    }
}

impl AuditRuntime {
    /// The hub's checkpoint verifier key (`origin+keyid+base64`).
    pub fn verifier_key(&self) -> String {
        checkpoint::verifier_key(&self.origin, &self.signer.verifying_key())
    }

    /// Every verifier key checkpoints of this log may carry: the current key's first, then
    /// the earlier keys listed in `audit.trusted_public_keys` (kept after a rotation, so
    /// checkpoints they signed still verify), in a stable order.
    pub fn verifier_keys(&self) -> Vec<String> {
        let current = self.signer.verifying_key();
        let mut earlier: Vec<String> = self
            .trusted
            .verifying_keys()
            .filter(|k| **k != current)
            .map(|k| checkpoint::verifier_key(&self.origin, k))
            .collect();
        earlier.sort();
        std::iter::once(self.verifier_key())
            .chain(earlier)
            .collect()
    }

    /// `head` as a signed C2SP checkpoint.
    pub fn checkpoint(&self, head: &super::heads::SignedTreeHead) -> Result<String, AppError> {
        checkpoint::signed(&self.origin, self.signer.signing_key(), head)
    }
}

/// The signing key: loaded, or generated while nothing has been signed yet.
fn signer_for(
    settings: &Settings,
    backend: Backend,
    signed_by: &[String],
) -> Result<TreeHeadSigner, AppError> {
    let path = settings.audit_key_path();
    if signed_by.is_empty() {
        return TreeHeadSigner::load_or_create(&path);
    }
    if backend == Backend::Postgres && settings.audit.signing_key_file.trim().is_empty() {
        return Err(AppError::Config(
            "the audit log on PostgreSQL has signed tree heads: set audit.signing_key_file to \
             the deployment's signing key, shared by every hub process (a key per host would \
             sign heads no other host verifies)"
                .into(),
        ));
    }
    TreeHeadSigner::load(&path)?.ok_or_else(|| {
        AppError::Config(format!(
            "no audit signing key at {}, but the audit log has tree heads signed by key {}: \
             restore that key (a new one is never generated once heads exist)",
            path.display(),
            signed_by.join(", ")
        ))
    })
}

/// The keys whose tree heads verify: the current signing key (when there is one) and the
/// earlier ones named in `audit.trusted_public_keys`.
pub fn trusted_keys(
    settings: &Settings,
    signer: Option<&TreeHeadSigner>,
) -> Result<TrustedKeys, AppError> {
    let mut keys = TrustedKeys::new();
    if let Some(s) = signer {
        keys.add(s.verifying_key())?;
    }
    for text in &settings.audit.trusted_public_keys {
        keys.add_text(text)?;
    }
    Ok(keys)
}
