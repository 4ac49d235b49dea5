//! C2SP `tlog-cosignature` v1 (Ed25519): a witness's note signature on a checkpoint, over
//!
//! ```text
//! cosignature/v1\ntime <POSIX seconds>\n<checkpoint body>
//! ```
//!
//! carried as `base64(key id || u64 timestamp (big-endian) || Ed25519 signature)`, the key
//! id being `SHA-256(name || 0x0A || 0x04 || public key)[:4]`. Witness keys are given as
//! verifier keys `name+keyid+base64(0x04 || public key)`.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use signed_note::{Note, VerificationError, Verifiers};

use crate::error::AppError;

/// The signature type byte of Ed25519 cosignatures.
const COSIGNATURE_V1: u8 = 0x04;

/// The message a cosignature at `time` covers for the note body `text`.
pub fn message(time: u64, text: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(text);
    m
}

/// The key id of a cosigner.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let encoded = [&[COSIGNATURE_V1][..], key.as_bytes()].concat();
    signed_note::key_id(name, &encoded)
}

/// The cosigner's verifier key.
pub fn verifier_key(name: &str, key: &VerifyingKey) -> String {
    let encoded = [&[COSIGNATURE_V1][..], key.as_bytes()].concat();
    format!(
        "{name}+{:08x}+{}",
        key_id(name, key),
        STANDARD.encode(encoded)
    )
}

/// Signs notes as the cosigner `name`, at `time`.
pub struct Cosigner<'a> {
    name: &'a str,
    id: u32,
    key: &'a SigningKey,
    time: u64,
}

impl<'a> Cosigner<'a> {
    pub fn new(name: &'a str, key: &'a SigningKey, time: u64) -> Self {
        Cosigner {
            name,
            id: key_id(name, &key.verifying_key()),
            key,
            time,
        }
    }

    /// The cosignature line (`— name base64...\n`) on the checkpoint body `text`.
    pub fn line(&self, text: &str) -> Result<String, AppError> {
        let mut note = Note::new(text.as_bytes(), &[])
            .map_err(|e| AppError::Internal(format!("cosignature: {e}")))?;
        note.add_sigs(&[self])
            .map_err(|e| AppError::Internal(format!("cosignature: {e}")))?;
        let bytes = note.to_bytes();
        let out = String::from_utf8(bytes).map_err(AppError::internal)?;
        Ok(out[text.len() + 1..].to_owned())
    }
}

impl signed_note::Signer for Cosigner<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let signature = self.key.sign(&message(self.time, msg));
        Ok([&self.time.to_be_bytes()[..], &signature.to_bytes()[..]].concat())
    }
}

/// A cosigner's public key, from its verifier key.
#[derive(Debug, Clone)]
pub struct CosignerKey {
    pub name: String,
    pub id: u32,
    pub key: VerifyingKey,
}

impl CosignerKey {
    /// Parses `name+keyid+base64(0x04 || key)`.
    pub fn parse(vkey: &str) -> Result<Self, String> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("not a verifier key (name+keyid+base64)".into());
        };
        let raw = STANDARD.decode(b64).map_err(|_| "its key is not base64")?;
        let (Some(&COSIGNATURE_V1), Some(key)) = (raw.first(), raw.get(1..)) else {
            return Err("not an Ed25519 cosignature/v1 key (type 0x04)".into());
        };
        let key: [u8; 32] = key.try_into().map_err(|_| "its key is not 32 bytes")?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| "not an Ed25519 key")?;
        let id = u32::from_str_radix(id, 16).map_err(|_| "its key id is not hex")?;
        if id != key_id(name, &key) || !signed_note::is_key_name_valid(name) {
            return Err("its key id does not match its name and key".into());
        }
        Ok(CosignerKey {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The timestamp of `line`, a valid cosignature by this key on the body `text`.
    pub fn check_line(&self, text: &str, line: &str) -> Result<u64, String> {
        let sig = signed_note::Signature::from_bytes(line.trim_end_matches('\n').as_bytes())
            .map_err(|e| e.to_string())?;
        if sig.name() != self.name || sig.id() != self.id {
            return Err("not this witness's key".into());
        }
        self.check(text.as_bytes(), sig.signature())
    }

    fn check(&self, text: &[u8], sig: &[u8]) -> Result<u64, String> {
        let (time, sig) = sig.split_at_checked(8).ok_or("too short")?;
        let time = u64::from_be_bytes(time.try_into().map_err(|_| "too short")?);
        let sig = Signature::from_slice(sig).map_err(|_| "malformed signature")?;
        self.key
            .verify(&message(time, text), &sig)
            .map_err(|_| "the cosignature does not verify".to_owned())?;
        Ok(time)
    }
}

impl signed_note::Verifier for CosignerKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.check(msg, sig).is_ok()
    }
}

impl Verifiers for CosignerKey {
    fn verifier(
        &self,
        name: &str,
        id: u32,
    ) -> Result<&dyn signed_note::Verifier, VerificationError> {
        if name == self.name && id == self.id {
            Ok(self)
        } else {
            Err(VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cosignature_verifies_and_commits_to_its_time_and_body() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let name = "witness.example/w1";
        let vkey = verifier_key(name, &key.verifying_key());
        let parsed = CosignerKey::parse(&vkey).unwrap();
        let body = "example.com/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        let line = Cosigner::new(name, &key, 1_679_315_147).line(body).unwrap();
        assert!(line.starts_with(&format!("\u{2014} {name} ")), "{line}");
        assert!(line.ends_with('\n'));
        assert_eq!(parsed.check_line(body, &line).unwrap(), 1_679_315_147);
        // The signed bytes are the cosignature/v1 message, timestamp first.
        let raw = STANDARD
            .decode(line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        let sig = Signature::from_slice(&raw[12..]).unwrap();
        key.verifying_key()
            .verify(&message(1_679_315_147, body.as_bytes()), &sig)
            .unwrap();
        assert!(parsed.check_line(&body.replace('5', "6"), &line).is_err());
        // A note with the cosignature verifies through the note format too.
        let note = Note::from_bytes(format!("{body}\n{line}").as_bytes()).unwrap();
        note.verify(&parsed).unwrap();
        // An Ed25519 note key (type 0x01) is not a cosigner key.
        let note_key = signed_note::new_ed25519_verifier_key(name, &key.verifying_key());
        assert!(CosignerKey::parse(&note_key).is_err());
    }
}
