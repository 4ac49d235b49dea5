//! Signed tree heads: the hub's Ed25519 signature over the log's size and root, in the
//! RFC 9162 §4.10 `TreeHeadSignature` layout:
//!
//! ```text
//! uint64 timestamp (ms since the epoch) || uint64 tree_size || uint8 32 || root_hash[32]
//! || uint16 0 (no extensions)            -- 51 bytes, big-endian
//! ```
//!
//! The key is generated once in the data folder (PKCS#8 PEM, mode 0600) or named in
//! configuration; its id is the hex SHA-256 of its DER SubjectPublicKeyInfo (as RFC 6962
//! log ids are). Every head handed out is stored, so verification can check each one's
//! signature and that the log still produces its root.
use std::collections::HashMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;
use super::proofs::{current_size, root_at};
use super::read::to_hash;
use crate::error::AppError;
use crate::service::store::audit::{self as rows, TreeHeadRow};
use crate::service::store::time::{from_db, to_db};
use crate::service::store::DbConn;

/// The key that signs tree heads.
pub struct TreeHeadSigner {
    key: SigningKey,
    key_id: String,
    public_der: Vec<u8>,
}

impl std::fmt::Debug for TreeHeadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeHeadSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl TreeHeadSigner {
    /// Loads the key at `path`, generating it (mode 0600) the first time.
    pub fn load_or_create(path: &Path) -> Result<Self, AppError> {
        if let Some(signer) = Self::load(path)? {
            return Ok(signer);
        }
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(AppError::internal)?;
        match crate::identity::dev::write_private(path, pem.as_bytes()) {
            Ok(()) => Self::from_key(key),
            // Another process created it first: use theirs.
            Err(_) if path.exists() => Self::load(path)?
                .ok_or_else(|| AppError::Config(format!("cannot read {}", path.display()))),
            Err(e) => Err(e),
        }
    }

    /// Loads the key at `path`; `None` when there is no file (never creates one).
    pub fn load(path: &Path) -> Result<Option<Self>, AppError> {
        if !path.exists() {
            return Ok(None);
        }
        check_private(path)?;
        let pem = std::fs::read_to_string(path)
            .map_err(|e| AppError::Config(format!("cannot read {}: {e}", path.display())))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            AppError::Config(format!(
                "{} is not an Ed25519 PKCS#8 key: {e}",
                path.display()
            ))
        })?;
        Self::from_key(key).map(Some)
    }

    fn from_key(key: SigningKey) -> Result<Self, AppError> {
        let public_der = key
            .verifying_key()
            .to_public_key_der()
            .map_err(AppError::internal)?
            .into_vec();
        Ok(TreeHeadSigner {
            key_id: key_id_of_der(&public_der),
            key,
            public_der,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key: base64 of its DER SubjectPublicKeyInfo (the body of a PEM
    /// `PUBLIC KEY`).
    pub fn public_key(&self) -> String {
        STANDARD.encode(&self.public_der)
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs the tree of `tree_size` leaves with root `root` at `at` (cut to milliseconds).
    pub fn sign(
        &self,
        tree_size: u64,
        root: &Hash,
        at: DateTime<Utc>,
    ) -> Result<SignedTreeHead, AppError> {
        let timestamp = at.trunc_subsecs(3);
        let message = signed_message(millis(timestamp)?, tree_size, root);
        Ok(SignedTreeHead {
            tree_size,
            root_hash: *root,
            timestamp,
            key_id: self.key_id.clone(),
            signature: self.key.sign(&message).to_bytes().to_vec(),
        })
    }
}

/// Refuses a key file that group or others may read or write (anything beyond 0600).
fn check_private(path: &Path) -> Result<(), AppError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| AppError::Config(format!("cannot read {}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AppError::Config(format!(
                "the key file {} is open to group or others (mode {:o}): \
                 `chmod 600` it (and consider it exposed)",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The ids of the keys that signed the tree heads stored so far.
pub fn signing_key_ids(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    rows::tree_head_key_ids(conn)
}

fn millis(t: DateTime<Utc>) -> Result<u64, AppError> {
    u64::try_from(t.timestamp_millis())
        .map_err(|_| AppError::Internal("tree head time before 1970".into()))
}

/// The key id of a public key given as DER SubjectPublicKeyInfo.
pub fn key_id_of_der(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// The 51 bytes a tree head signature covers (RFC 9162 §4.10 `TreeHeadSignature`).
pub fn signed_message(timestamp_ms: u64, tree_size: u64, root: &Hash) -> Vec<u8> {
    let mut m = Vec::with_capacity(51);
    m.extend_from_slice(&timestamp_ms.to_be_bytes());
    m.extend_from_slice(&tree_size.to_be_bytes());
    m.push(32);
    m.extend_from_slice(root);
    m.extend_from_slice(&0u16.to_be_bytes());
    m
}

/// The public keys whose tree head signatures verification accepts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys(HashMap<String, VerifyingKey>);

impl TrustedKeys {
    pub fn new() -> Self {
        TrustedKeys(HashMap::new())
    }

    pub fn add(&mut self, key: VerifyingKey) -> Result<(), AppError> {
        let der = key.to_public_key_der().map_err(AppError::internal)?;
        self.0.insert(key_id_of_der(der.as_bytes()), key);
        Ok(())
    }

    /// Adds a key given as a PEM `PUBLIC KEY` or the base64 of its DER.
    pub fn add_text(&mut self, text: &str) -> Result<(), AppError> {
        let b64: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| AppError::Config(format!("audit.trusted_public_keys: {e}")))?;
        let key = VerifyingKey::from_public_key_der(&der).map_err(|e| {
            AppError::Config(format!(
                "audit.trusted_public_keys: not an Ed25519 key: {e}"
            ))
        })?;
        self.add(key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn verifying_keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.0.values()
    }

    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.0.get(key_id)
    }
}

/// A signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub root_hash: Hash,
    pub timestamp: DateTime<Utc>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl SignedTreeHead {
    pub fn from_row(row: &TreeHeadRow) -> Result<Self, AppError> {
        Ok(SignedTreeHead {
            tree_size: u64::try_from(row.tree_size)
                .map_err(|_| AppError::Internal("negative tree head size".into()))?,
            root_hash: to_hash(&row.root_hash)?,
            timestamp: from_db(row.signed_at),
            key_id: row.key_id.clone(),
            signature: row.signature.clone(),
        })
    }

    fn to_row(&self) -> Result<TreeHeadRow, AppError> {
        Ok(TreeHeadRow {
            tree_size: i64::try_from(self.tree_size)
                .map_err(|_| AppError::Internal("tree head size overflows".into()))?,
            root_hash: self.root_hash.to_vec(),
            signed_at: to_db(self.timestamp),
            key_id: self.key_id.clone(),
            signature: self.signature.clone(),
        })
    }

    /// Whether one of `keys` signed this head; the error says why not.
    pub fn check_signature(&self, keys: &TrustedKeys) -> Result<(), String> {
        let key = keys
            .get(&self.key_id)
            .ok_or_else(|| format!("signed by unknown key {}", self.key_id))?;
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| "malformed signature".to_owned())?;
        let ms = u64::try_from(self.timestamp.timestamp_millis())
            .map_err(|_| "timestamp before 1970".to_owned())?;
        key.verify(
            &signed_message(ms, self.tree_size, &self.root_hash),
            &signature,
        )
        .map_err(|_| "signature does not verify".to_owned())
    }
}

/// The signed head stored for a tree of `size` leaves, if one was signed.
pub fn stored(conn: &mut DbConn, size: u64) -> Result<Option<SignedTreeHead>, AppError> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(None);
    };
    match rows::tree_heads_after(conn, size - 1, 1)?.first() {
        Some(row) if row.tree_size == size => SignedTreeHead::from_row(row).map(Some),
        _ => Ok(None),
    }
}

/// The signed head of the log as it is now: the latest stored one if the log has not grown
/// since, else a new one, signed at `now` and stored.
pub fn current(
    conn: &mut DbConn,
    signer: &TreeHeadSigner,
    now: DateTime<Utc>,
) -> Result<SignedTreeHead, AppError> {
    let size = current_size(conn)?;
    if let Some(latest) = rows::latest_tree_head(conn)? {
        let latest = SignedTreeHead::from_row(&latest)?;
        if latest.tree_size >= size {
            return Ok(latest);
        }
    }
    let root = root_at(conn, size)?;
    let head = signer.sign(size, &root, now)?;
    rows::insert_tree_head(conn, &head.to_row()?)?;
    // A head for this size stored concurrently wins; return what is stored.
    match rows::latest_tree_head(conn)? {
        Some(stored) if stored.tree_size == head.tree_size as i64 => {
            SignedTreeHead::from_row(&stored)
        }
        _ => Ok(head),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::empty_root;

    #[test]
    fn heads_sign_and_verify_and_tampering_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let signer = TreeHeadSigner::load_or_create(&path).unwrap();
        let again = TreeHeadSigner::load_or_create(&path).unwrap();
        assert_eq!(signer.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let at: DateTime<Utc> = "2026-06-01T09:00:00.123456Z".parse().unwrap();
        let head = signer.sign(5, &empty_root(), at).unwrap();
        assert_eq!(head.timestamp.timestamp_subsec_micros(), 123_000);
        let mut keys = TrustedKeys::new();
        assert!(head.check_signature(&keys).is_err());
        keys.add_text(&signer.public_key()).unwrap();
        head.check_signature(&keys).unwrap();
        let mut forged = head.clone();
        forged.tree_size = 6;
        assert!(forged.check_signature(&keys).is_err());
        assert_eq!(signed_message(1, 2, &empty_root()).len(), 51);
    }
}
