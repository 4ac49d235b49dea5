//! Webhook secrets at rest: sealed with ChaCha20-Poly1305 (RFC 8439) under the hub's webhook
//! key, a fresh random nonce per secret and the subscription id as associated data (a sealed
//! secret copied to another row does not open). Stored as `sealed:v1:` + base64(nonce ||
//! ciphertext || tag). The key is 32 random bytes, base64 on one line, in a file named by
//! `delivery.secret_key_file` or generated (mode 0600) in the data folder on first start, as
//! the audit signing key is. Neither the key nor a secret is ever printed.
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use crate::error::AppError;

/// The prefix of a sealed secret in the `subscriptions.secret` column.
pub const SEALED_PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

/// Seals and opens webhook secrets.
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox").finish_non_exhaustive()
    }
}

impl SecretBox {
    /// A box for the 32-byte `key`.
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Loads the key at `path`, generating it (mode 0600) the first time.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, AppError> {
        if path.exists() {
            return Self::load(path);
        }
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let text = format!("{}\n", STANDARD.encode(key));
        match crate::identity::dev::write_private(path, text.as_bytes()) {
            Ok(()) => Ok(SecretBox::new(&key)),
            // Another process created it first: use theirs.
            Err(_) if path.exists() => Self::load(path),
            Err(e) => Err(e),
        }
    }

    fn load(path: &Path) -> Result<SecretBox, AppError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::Config(format!("cannot read {}: {e}", path.display())))?;
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| AppError::Config(format!("{} is not a base64 key", path.display())))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            AppError::Config(format!("{} must hold exactly 32 bytes", path.display()))
        })?;
        Ok(SecretBox::new(&key))
    }

    /// Whether a stored value is sealed (rather than a plaintext secret of an older hub).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    /// Seals `secret` for the subscription `subscription`.
    pub fn seal(&self, subscription: &str, secret: &str) -> Result<String, AppError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: subscription.as_bytes(),
                },
            )
            .map_err(|_| AppError::internal("cannot seal a webhook secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a sealed secret of the subscription `subscription`.
    pub fn open(&self, subscription: &str, stored: &str) -> Result<String, AppError> {
        let bad = || AppError::internal("a stored webhook secret does not open under the key");
        let body = stored.strip_prefix(SEALED_PREFIX).ok_or_else(bad)?;
        let bytes = STANDARD.decode(body).map_err(|_| bad())?;
        if bytes.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: subscription.as_bytes(),
                },
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_subscription_and_key() {
        let b = SecretBox::new(&[7u8; 32]);
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sealed = b.seal("sub-1", secret).unwrap();
        assert!(SecretBox::is_sealed(&sealed));
        assert!(!sealed.contains(secret) && !sealed.contains("MfKQ9r8G"));
        assert_ne!(sealed, b.seal("sub-1", secret).unwrap(), "a fresh nonce");
        assert_eq!(b.open("sub-1", &sealed).unwrap(), secret);
        assert!(b.open("sub-2", &sealed).is_err(), "bound to its row");
        assert!(SecretBox::new(&[8u8; 32]).open("sub-1", &sealed).is_err());
        assert!(b.open("sub-1", secret).is_err(), "plaintext is not sealed");
        assert!(!format!("{b:?}").contains('7'));
    }

    #[test]
    fn the_key_file_is_made_once_private_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("k");
        let a = SecretBox::load_or_create(&path).unwrap();
        let sealed = a.seal("s", "whsec_x").unwrap();
        let b = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(b.open("s", &sealed).unwrap(), "whsec_x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(SecretBox::load_or_create(&path).is_err());
    }
}
