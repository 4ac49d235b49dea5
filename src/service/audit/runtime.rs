//! What the running hub keeps for its audit trail: the tree-head signing key, the keys
//! verification trusts, and the budgets for logging refused requests.
use super::denials::DenialBudget;
use super::heads::{TreeHeadSigner, TrustedKeys};
use super::verify::Verifications;
use crate::config::Settings;
use crate::error::AppError;

/// The audit trail's run-time state, shared by every request.
#[derive(Debug)]
pub struct AuditRuntime {
    pub signer: TreeHeadSigner,
    pub trusted: TrustedKeys,
    /// Refusals of requests without a valid token (per client address).
    pub denials: DenialBudget,
    /// Refusals of authenticated callers (per principal): a budget of their own, so a flood
    /// of bad tokens never silences what known principals were refused.
    pub principal_denials: DenialBudget,
    /// `GET /audit/verify`: one run at a time, its report kept.
    pub verifications: Verifications,
}

impl AuditRuntime {
    /// Loads (or, the first time, generates) the signing key named by the settings.
    pub fn load(settings: &Settings) -> Result<Self, AppError> {
        let signer = TreeHeadSigner::load_or_create(&settings.audit_key_path())?;
        let trusted = trusted_keys(settings, Some(&signer))?;
        Ok(AuditRuntime {
            signer,
            trusted,
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
