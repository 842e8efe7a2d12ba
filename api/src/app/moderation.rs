//! Operators moderate the names citizens read (`diia_qr_domain::moderation`): the queue of new
//! and changed names, approving the revision they saw, or removing a branch or a service with a
//! reason — its QR stops at once and the partner is told by e-mail at the profile's address.

use diia_qr_domain::branch::BranchCommand;
use diia_qr_domain::identifiers::EmailAddress;
use diia_qr_domain::service::ServiceCommand;
use diia_qr_projections::views::moderation::{self, ModerationItem, PartnerOnRecord};
use uuid::Uuid;

use super::store::Actor;
use super::{Engine, EngineError};

/// How many items one page of the queue shows.
const QUEUE_PAGE: i64 = 200;

/// What an operator decides about a name.
pub enum Decision {
    Approve,
    Remove { reason: String },
}

fn parse_state(state: Option<&str>) -> Result<&str, EngineError> {
    match state.unwrap_or("pending") {
        s @ ("pending" | "approved" | "removed") => Ok(s),
        other => Err(EngineError::invalid("moderation-state-invalid", format!("невідомий стан «{other}»: pending, approved або removed"))),
    }
}

impl Engine {
    /// The names in one moderation state (`pending` by default: the queue), oldest first.
    pub async fn moderation_queue(&self, state: Option<&str>) -> Result<Vec<ModerationItem>, EngineError> {
        Ok(moderation::moderation_items(&self.pool, parse_state(state)?, QUEUE_PAGE).await?)
    }

    /// Partners and their standing, for suspending and reinstating.
    pub async fn partners_on_record(&self, status: Option<&str>) -> Result<Vec<PartnerOnRecord>, EngineError> {
        if let Some(s) = status {
            if !matches!(s, "onboarding" | "active" | "suspended") {
                let message = format!("невідомий стан партнера «{s}»: onboarding, active або suspended");
                return Err(EngineError::invalid("partner-status-invalid", message));
            }
        }
        Ok(moderation::partners(&self.pool, status, QUEUE_PAGE).await?)
    }

    /// The address a removal is mailed to: the partner's profile e-mail, if it filled one.
    async fn removal_notice_address(&self, partner_id: Option<Uuid>) -> Result<Option<EmailAddress>, EngineError> {
        let Some(partner_id) = partner_id else { return Ok(None) };
        Ok(self.partners.load(partner_id).await?.profile().map(|p| p.email.clone()))
    }

    /// An operator's decision on revision `revision` of a branch's name.
    pub async fn moderate_branch(&self, operator: &str, branch_id: Uuid, revision: u32, decision: Decision) -> Result<(), EngineError> {
        let command = match decision {
            Decision::Approve => BranchCommand::ApproveName { revision },
            Decision::Remove { reason } => {
                let branch = self.branches.load(branch_id).await?;
                let notify = self.removal_notice_address(branch.partner_id()).await?;
                BranchCommand::RemoveByModeration { revision, reason, notify }
            }
        };
        self.branches.execute(branch_id, command, &Actor::operator(operator), self.clock.now()).await
    }

    /// An operator's decision on revision `revision` of a service's names.
    pub async fn moderate_service(&self, operator: &str, service_id: Uuid, revision: u32, decision: Decision) -> Result<(), EngineError> {
        let command = match decision {
            Decision::Approve => ServiceCommand::ApproveNames { revision },
            Decision::Remove { reason } => {
                let service = self.services.load(service_id).await?;
                let notify = self.removal_notice_address(service.partner_id()).await?;
                ServiceCommand::RemoveByModeration { revision, reason, notify }
            }
        };
        self.services.execute(service_id, command, &Actor::operator(operator), self.clock.now()).await
    }
}
