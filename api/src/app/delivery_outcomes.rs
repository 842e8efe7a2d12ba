//! The delivery worker's outcomes, recorded on the ShareRequest aggregate as commands.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diia_qr_domain::share_request::{ShareRequestCommand, ShareRequestError};
use diia_qr_domain::RuleViolation;
use diia_qr_projections::reactors::delivery::DeliveryOutcomes;
use uuid::Uuid;

use super::store::Actor;
use super::Engine;

/// Records delivery outcomes; repeating one (a re-delivery after a crash) is not an error.
pub struct ShareDeliveryOutcomes(pub Arc<Engine>);

#[async_trait::async_trait]
impl DeliveryOutcomes for ShareDeliveryOutcomes {
    async fn delivered(&self, id: Uuid, accepted_at: DateTime<Utc>, message_id: &str) -> Result<(), String> {
        self.record(id, ShareRequestCommand::RecordDelivery { accepted_at, message_id: message_id.to_string() }).await
    }
    async fn failed(&self, id: Uuid, at: DateTime<Utc>, reason: &str) -> Result<(), String> {
        self.record(id, ShareRequestCommand::RecordDeliveryFailure { at, reason: reason.to_string() }).await
    }
}

impl ShareDeliveryOutcomes {
    async fn record(&self, id: Uuid, command: ShareRequestCommand) -> Result<(), String> {
        let engine = &self.0;
        match engine.shares.execute(id, command, &Actor::system("delivery"), engine.clock.now()).await {
            Ok(()) => Ok(()),
            Err(e) if e.rule_code() == Some(ShareRequestError::DeliveryAlreadyRecorded.code()) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}
