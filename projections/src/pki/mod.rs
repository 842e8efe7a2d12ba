//! Public-key infrastructure besides the seal: the development PKI (`dev`: a root, the qualified
//! trust service CA of partners' КЕП and the seal, the citizens' Diia.Signature CA, their CRLs),
//! the identity a Ukrainian qualified certificate carries (`qualified`), and certificate
//! revocation lists checked at a given time (`revocation`).

mod authority;
mod dev;
pub mod qualified;
pub mod revocation;

use std::path::PathBuf;

#[cfg(test)]
pub(crate) use authority::{certificate_builder, new_p256_key};
pub use authority::{Authority, Subject};
#[cfg(test)]
pub(crate) use dev::write_private;
pub(crate) use dev::{private_key_from_pem_file, read};
pub use dev::{DevPki, TestPartner, DEV_SEAL_SUBJECT, TEST_PARTNERS};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    /// Key material that cannot be used: a key that does not match its certificate, a CRL no
    /// configured CA signed.
    #[error("{0}")]
    Invalid(String),
}

impl From<PkiError> for crate::seal::SealError {
    fn from(e: PkiError) -> Self {
        match e {
            PkiError::OpenSsl(e) => Self::OpenSsl(e),
            PkiError::File { path, source } => Self::File { path, source },
            PkiError::Invalid(message) => Self::Invalid(message),
        }
    }
}

#[cfg(test)]
mod tests;
