//! Local e-mail for the embedded default: every message appended to one mailbox file,
//! `data_dir/mail/outbox.mbox`, in mboxrd form (a `From ` separator line before each message,
//! body lines that begin with `From ` or `>From ` quoted with one more `>`), which any mail
//! client opens. One file for all messages: creating a file per message (lettre's file
//! transport) cost the hub's delivery worker more than the rest of a delivery under load.
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::error::AppError;

/// The file name of the mailbox in the mail folder.
pub const FILE_NAME: &str = "outbox.mbox";

/// An open mailbox; appends are serialised so messages never interleave.
#[derive(Debug)]
pub struct Mailbox {
    file: Mutex<File>,
}

impl Mailbox {
    /// Opens (creating if need be) the mailbox in `dir`.
    pub fn open(dir: &Path) -> Result<Mailbox, AppError> {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(FILE_NAME))
            .map_err(AppError::internal)?;
        Ok(Mailbox {
            file: Mutex::new(file),
        })
    }

    /// Appends one formatted message (as lettre formats it, CRLF line ends), sent at `at`.
    pub fn append(&self, message: &[u8], at: DateTime<Utc>) -> Result<(), String> {
        let entry = entry(message, &at.format("%a %b %e %H:%M:%S %Y").to_string());
        let mut file = self
            .file
            .lock()
            .map_err(|_| "the mailbox lock is poisoned".to_owned())?;
        file.write_all(&entry).map_err(|e| format!("mailbox: {e}"))
    }
}

/// One mailbox entry: the separator line, the message with LF line ends and its `From `
/// lines quoted, and the blank line that ends it.
fn entry(message: &[u8], date: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    out.extend_from_slice(b"From msht-hub ");
    out.extend_from_slice(date.as_bytes());
    out.push(b'\n');
    let body = message.strip_suffix(b"\r\n").unwrap_or(message);
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let unquoted = line.iter().position(|b| *b != b'>').unwrap_or(line.len());
        if line
            .get(unquoted..)
            .is_some_and(|rest| rest.starts_with(b"From "))
        {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_separated_lf_ended_and_quotes_from_lines() {
        let e = entry(
            b"Subject: x\r\n\r\nFrom here\r\n>From there\r\nend\r\n",
            "Tue Dec  1 16:00:00 2026",
        );
        assert_eq!(
            String::from_utf8(e).unwrap(),
            "From msht-hub Tue Dec  1 16:00:00 2026\nSubject: x\n\n>From here\n>>From there\nend\n\n"
        );
    }

    #[test]
    fn messages_are_appended_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mailbox::open(dir.path()).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-01T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        m.append(b"Subject: one\r\n\r\n1\r\n", at).unwrap();
        m.append(b"Subject: two\r\n\r\n2\r\n", at).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text.matches("\nFrom msht-hub ").count() + 1, 2);
        assert!(text.find("Subject: one").unwrap() < text.find("Subject: two").unwrap());
        assert!(text.starts_with("From msht-hub Tue Dec  1 16:00:00 2026\n"));
    }
}
