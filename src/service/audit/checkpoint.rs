//! Signed tree heads as C2SP checkpoints, so tools outside the hub can read and hold them:
//! the `tlog-checkpoint` body (origin line, tree size, base64 root hash, each ending in a
//! newline) wrapped as a C2SP `signed-note` with an Ed25519 note signature by the hub's
//! tree-head key. The note format is the `signed_note` crate's.
//!
//! The verifier key is `origin+keyid+base64(0x01 || public key)`, the key id being the first
//! four bytes of SHA-256(origin || 0x0A || 0x01 || public key). Ed25519 signatures are
//! deterministic, so a stored head gives the same checkpoint every time it is served.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, StandardVerifier, VerifierList};

use super::heads::SignedTreeHead;
use crate::error::AppError;

/// Signs notes as the log named `origin`.
pub struct NoteSigner<'a> {
    origin: &'a str,
    id: u32,
    key: &'a SigningKey,
}

impl<'a> NoteSigner<'a> {
    pub fn new(origin: &'a str, key: &'a SigningKey) -> Self {
        NoteSigner {
            origin,
            id: key_id(origin, &key.verifying_key()),
            key,
        }
    }
}

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        self.origin
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// The note key id of `key` under `origin`.
pub fn key_id(origin: &str, key: &VerifyingKey) -> u32 {
    let encoded = [&[1u8][..], key.as_bytes()].concat();
    signed_note::key_id(origin, &encoded)
}

/// The verifier key (`vkey`) of `key` under `origin`.
pub fn verifier_key(origin: &str, key: &VerifyingKey) -> String {
    signed_note::new_ed25519_verifier_key(origin, key)
}

/// Whether `origin` can name a note key: not empty, no spaces, no `+`.
pub fn check_origin(origin: &str) -> Result<(), AppError> {
    if signed_note::is_key_name_valid(origin) {
        Ok(())
    } else {
        Err(AppError::Config(format!(
            "audit.checkpoint_origin {origin:?}: must be non-empty, without spaces or '+'"
        )))
    }
}

/// The `tlog-checkpoint` body of `head`.
pub fn body(origin: &str, head: &SignedTreeHead) -> String {
    format!(
        "{origin}\n{}\n{}\n",
        head.tree_size,
        STANDARD.encode(head.root_hash)
    )
}

/// `head` as a signed checkpoint note.
pub fn signed(origin: &str, key: &SigningKey, head: &SignedTreeHead) -> Result<String, AppError> {
    let mut note = Note::new(body(origin, head).as_bytes(), &[])
        .map_err(|e| AppError::Internal(format!("checkpoint note: {e}")))?;
    note.add_sigs(&[&NoteSigner::new(origin, key)])
        .map_err(|e| AppError::Internal(format!("checkpoint note: {e}")))?;
    String::from_utf8(note.to_bytes()).map_err(AppError::internal)
}

/// Checks `text` is a note signed by `vkey`; its body when it is.
pub fn verify(text: &str, vkey: &str) -> Result<String, String> {
    let verifier = StandardVerifier::new(vkey).map_err(|e| e.to_string())?;
    let note = Note::from_bytes(text.as_bytes()).map_err(|e| e.to_string())?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| e.to_string())?;
    String::from_utf8(note.text().to_vec()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::empty_root;

    // The published vectors of Go's golang.org/x/mod/sumdb/note (note_test.go).
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn the_go_sumdb_note_vectors_verify() {
        let body = verify(GO_NOTE, GO_VKEY).unwrap();
        assert!(body.starts_with("If you think cryptography"));
        let tampered = GO_NOTE.replace("answer", "question");
        assert!(verify(&tampered, GO_VKEY).is_err());
        let verifier = StandardVerifier::new(GO_VKEY).unwrap();
        assert_eq!(signed_note::Verifier::key_id(&verifier), 0xc74f20a3);

        // The vectors' private key signs the same note and gives the same vkey here.
        let skey = STANDARD
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        assert_eq!(skey[0], 1);
        let key = SigningKey::from_bytes(&skey[1..].try_into().unwrap());
        assert_eq!(verifier_key("PeterNeumann", &key.verifying_key()), GO_VKEY);
        let text = &GO_NOTE[..GO_NOTE.find("\n\n").unwrap() + 1];
        let mut note = Note::new(text.as_bytes(), &[]).unwrap();
        note.add_sigs(&[&NoteSigner::new("PeterNeumann", &key)])
            .unwrap();
        assert_eq!(String::from_utf8(note.to_bytes()).unwrap(), GO_NOTE);
    }

    #[test]
    fn a_checkpoint_verifies_with_the_hubs_verifier_key() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let head = SignedTreeHead {
            tree_size: 5,
            root_hash: empty_root(),
            timestamp: "2026-06-01T09:00:00Z".parse().unwrap(),
            key_id: String::new(),
            signature: Vec::new(),
        };
        let origin = "hub.example.org/audit";
        let note = signed(origin, &key, &head).unwrap();
        let vkey = verifier_key(origin, &key.verifying_key());
        assert!(vkey.starts_with(&format!(
            "{origin}+{:08x}+",
            key_id(origin, &key.verifying_key())
        )));
        let text = verify(&note, &vkey).unwrap();
        assert_eq!(
            text,
            "hub.example.org/audit\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(note, signed(origin, &key, &head).unwrap(), "deterministic");
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert!(verify(&note, &verifier_key(origin, &other.verifying_key())).is_err());
        assert!(check_origin("bad origin").is_err());
    }
}
