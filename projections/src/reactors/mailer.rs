//! Where mail goes: a folder of `.eml` files (the default, for development and the demo) or an
//! SMTP server (lettre, pooled, with timeouts; STARTTLS or TLS by the URL's scheme).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused for good (5xx): retrying will not help.
    #[error("поштовий сервер відмовив: {0}")]
    Permanent(String),
    #[error("поштовий сервер недоступний: {0}")]
    Transient(String),
    /// The recipient's mailbox is full: it clears when its owner makes room, so it is retried.
    #[error("поштова скринька одержувача переповнена, лист буде надіслано, щойно звільниться місце: {0}")]
    MailboxFull(String),
    #[error("не вдалося записати лист у {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("неправильна адреса SMTP-сервера: {0}")]
    Config(String),
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_) | Self::Config(_))
    }
}

/// Whether a 5xx refusal is a full mailbox, which clears once its owner makes room: RFC 3463
/// calls X.2.2 "mailbox full" a persistent transient failure, and RFC 5321 (4.5.3.1.10) asks
/// clients to take 552 as 452. A message too large for the server (X.3.4) stays permanent.
fn mailbox_full(code: Option<&str>, text: &str) -> bool {
    text.contains("5.2.2") || (code == Some("552") && !text.contains("5.3.4"))
}

pub enum MailTransport {
    Folder(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl MailTransport {
    /// `smtp://host:port` (plain, e.g. a local relay), `smtp://host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS): lettre's connection URLs.
    pub fn smtp(url: &str, timeout: Duration) -> Result<Self, MailError> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| MailError::Config(e.to_string()))?;
        Ok(Self::Smtp(builder.timeout(Some(timeout)).build()))
    }

    pub fn folder(path: &Path) -> Self {
        Self::Folder(path.to_path_buf())
    }

    /// Makes a mail folder private: the folder 0700 (created so if missing), every file in it
    /// 0600 — letters carry citizens' documents. Returns how many modes it had to tighten.
    pub fn secure_folder(dir: &Path) -> std::io::Result<usize> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let mut tightened = 0;
        let mut tighten = |path: &Path, mode: u32| -> std::io::Result<()> {
            let meta = std::fs::symlink_metadata(path)?;
            if !meta.file_type().is_symlink() && meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
                tightened += 1;
            }
            Ok(())
        };
        tighten(dir, 0o700)?;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_file() {
                tighten(&path, 0o600)?;
            }
        }
        Ok(tightened)
    }

    /// Sends one message; returns when the server (or the folder) accepted it. `file_stem` names
    /// the `.eml` file in a folder, so a re-delivery replaces, not duplicates, the file.
    pub async fn send(&self, message: &Message, file_stem: &str) -> Result<DateTime<Utc>, MailError> {
        match self {
            Self::Folder(dir) => {
                let folder_error = |source| MailError::Folder { path: dir.clone(), source };
                tokio::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).await.map_err(folder_error)?;
                let tmp = dir.join(format!(".{file_stem}.eml.tmp"));
                // 0600 from the first byte: a letter holds a citizen's documents.
                let mut file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)
                    .await
                    .map_err(folder_error)?;
                // On the disk before it counts as accepted: a full disk is an error here (ENOSPC
                // may surface only at fsync), retried, and never a letter recorded but lost.
                let written = async {
                    tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await?;
                    file.sync_all().await?;
                    drop(file);
                    tokio::fs::rename(&tmp, dir.join(format!("{file_stem}.eml"))).await?;
                    tokio::fs::File::open(dir).await?.sync_all().await
                };
                if let Err(source) = written.await {
                    // A partial letter must not hold the space the next attempt needs.
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(folder_error(source));
                }
                Ok(Utc::now())
            }
            Self::Smtp(transport) => match transport.send(message.clone()).await {
                Ok(_) => Ok(Utc::now()),
                Err(e) if e.is_permanent() => {
                    let text = e.to_string();
                    if mailbox_full(e.status().map(|c| c.to_string()).as_deref(), &text) {
                        Err(MailError::MailboxFull(text))
                    } else {
                        Err(MailError::Permanent(text))
                    }
                }
                Err(e) => Err(MailError::Transient(e.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mailbox_full;

    #[test]
    fn a_full_mailbox_is_waited_out_and_other_refusals_are_final() {
        assert!(mailbox_full(Some("552"), "permanent error (552): 5.2.2 Mailbox full: over quota"));
        assert!(mailbox_full(Some("552"), "permanent error (552): Requested mail action aborted: exceeded storage allocation"));
        assert!(mailbox_full(Some("550"), "permanent error (550): 5.2.2 mailbox full"));
        assert!(!mailbox_full(Some("552"), "permanent error (552): 5.3.4 Message size exceeds fixed limit"));
        assert!(!mailbox_full(Some("550"), "permanent error (550): 5.1.1 <a@b.example>: mailbox unavailable"));
        assert!(!mailbox_full(None, "permanent error: connection refused"));
    }
}
