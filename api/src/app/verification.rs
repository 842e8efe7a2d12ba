//! Verification of copies, for anyone: the verdict on a presented PDF and its P7S, and what the
//! registry of issued copies says about a copy id. The published trust anchors too.

use diia_qr_projections::verification::{issued_copy_by_id, verify_copy, CopyVerification, IssuedCopy};
use uuid::Uuid;

use super::{Engine, EngineError};

impl Engine {
    /// PEM of the certificates that verify the copies' seal.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The verdict is the answer, whatever it is: an altered copy is a verdict, not an error.
    pub async fn verify_copy(&self, pdf: &[u8], p7s: &[u8], presented_by: Option<&str>) -> Result<CopyVerification, EngineError> {
        Ok(verify_copy(&self.pool, pdf, p7s, &self.trust_anchors, presented_by).await?)
    }

    pub async fn issued_copy(&self, copy_id: Uuid) -> Result<IssuedCopy, EngineError> {
        issued_copy_by_id(&self.pool, copy_id)
            .await?
            .ok_or_else(|| EngineError::not_found("copy-not-found", "копії з таким ідентифікатором не видавали"))
    }
}
