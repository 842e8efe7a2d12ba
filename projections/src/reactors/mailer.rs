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

    /// Sends one message; returns when the server (or the folder) accepted it. `file_stem` names
    /// the `.eml` file in a folder, so a re-delivery replaces, not duplicates, the file.
    pub async fn send(&self, message: &Message, file_stem: &str) -> Result<DateTime<Utc>, MailError> {
        match self {
            Self::Folder(dir) => {
                let folder_error = |source| MailError::Folder { path: dir.clone(), source };
                tokio::fs::create_dir_all(dir).await.map_err(folder_error)?;
                let tmp = dir.join(format!(".{file_stem}.eml.tmp"));
                tokio::fs::write(&tmp, message.formatted()).await.map_err(folder_error)?;
                tokio::fs::rename(&tmp, dir.join(format!("{file_stem}.eml"))).await.map_err(folder_error)?;
                Ok(Utc::now())
            }
            Self::Smtp(transport) => match transport.send(message.clone()).await {
                Ok(_) => Ok(Utc::now()),
                Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
                Err(e) => Err(MailError::Transient(e.to_string())),
            },
        }
    }
}
