//! Development stand-ins for what cannot run here: the state registries of citizens' documents
//!; photo verification's stand-in is `liveness::DevLivenessProvider`. Each implements the domain's trait honestly; none is
//! for production. The registry is seeded with fictional citizens who together hold every
//! document type, with valid РНОКПП and document numbers in their real formats.

use std::collections::HashMap;

use async_trait::async_trait;
pub use diia_qr_domain::demo::{demo_citizens, DemoCitizen};
use diia_qr_domain::documents::HeldDocument;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{DocumentRegistry, RegistryError};

/// The seeded registry.
pub struct DemoRegistry {
    citizens: HashMap<Rnokpp, DemoCitizen>,
}

impl DemoRegistry {
    pub fn seeded() -> Self {
        Self::of(demo_citizens())
    }
    pub fn of(citizens: Vec<DemoCitizen>) -> Self {
        Self { citizens: citizens.into_iter().map(|c| (c.rnokpp.clone(), c)).collect() }
    }
    pub fn citizen(&self, rnokpp: &Rnokpp) -> Option<&DemoCitizen> {
        self.citizens.get(rnokpp)
    }
}

#[async_trait]
impl DocumentRegistry for DemoRegistry {
    async fn documents_of(&self, citizen: &Rnokpp) -> Result<Vec<HeldDocument>, RegistryError> {
        self.citizens.get(citizen).map(|c| c.documents.clone()).ok_or(RegistryError::UnknownCitizen)
    }
}
