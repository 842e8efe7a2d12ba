//! The service's own staff, and the system's sweeps: suspending and reinstating partners,
//! expiring requests whose time ran out.

use diia_qr_domain::partner::PartnerCommand;
use diia_qr_domain::share_request::ShareRequestCommand;
use uuid::Uuid;

use super::store::Actor;
use super::{Engine, EngineError};

impl Engine {
    async fn ensure_partner_exists(&self, partner_id: Uuid) -> Result<(), EngineError> {
        match self.partners.load(partner_id).await?.kind() {
            Some(_) => Ok(()),
            None => Err(EngineError::not_found("partner-not-found", "партнера не знайдено")),
        }
    }

    /// An operator suspends a partner: its QR codes stop working until it is reinstated.
    pub async fn suspend_partner(&self, operator: &str, partner_id: Uuid, reason: &str) -> Result<(), EngineError> {
        self.ensure_partner_exists(partner_id).await?;
        let command = PartnerCommand::Suspend { reason: reason.trim().to_string() };
        self.partners.execute(partner_id, command, &Actor::operator(operator), self.clock.now()).await
    }

    pub async fn reinstate_partner(&self, operator: &str, partner_id: Uuid) -> Result<(), EngineError> {
        self.ensure_partner_exists(partner_id).await?;
        self.partners.execute(partner_id, PartnerCommand::Reinstate, &Actor::operator(operator), self.clock.now()).await
    }

    /// Expires open requests whose time ran out; returns how many. Run periodically. The view
    /// only says which requests to look at; the aggregate decides whether each has expired.
    pub async fn expire_overdue(&self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let overdue = diia_qr_projections::views::cabinet::open_shares_expiring_by(&self.pool, now, 500).await?;
        let mut expired = 0;
        for id in overdue {
            match self.shares.execute(id, ShareRequestCommand::Expire { at: now }, &Actor::system("expiry"), now).await {
                Ok(()) => expired += 1,
                // Sent or declined since the view was read: nothing to expire.
                Err(EngineError::Rule { .. } | EngineError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }
}
