//! The service's own staff, and the system's sweeps: suspending and reinstating partners,
//! expiring requests whose time ran out, the projections' standing and the engine's health.

use diia_qr_domain::partner::PartnerCommand;
use diia_qr_domain::share_request::{ErasureReason, ShareRequestCommand};
use diia_qr_projections::log::{projection_status, ProjectionStatus};
use diia_qr_projections::views::overview::{recent_delivery_failures, FailureOnRecord};
use serde::Serialize;
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
        // Its sessions end first: if the suspension is then refused (already suspended, a bad
        // reason), the head signs in again and loses nothing.
        sqlx::query(
            "INSERT INTO partner_sessions_ended (partner_id, ended_at) VALUES ($1, $2)
             ON CONFLICT (partner_id) DO UPDATE SET ended_at = EXCLUDED.ended_at",
        )
        .bind(partner_id)
        .bind(self.clock.now())
        .execute(&self.pool)
        .await?;
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

    /// Erases the personal data of requests whose retention ran out; returns how many. Run
    /// periodically. Each erasure is retried until it succeeds (a failure leaves the request
    /// for the next sweep), and each step is idempotent.
    pub async fn erase_overdue(&self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let due = diia_qr_projections::views::cabinet::shares_due_for_erasure(&self.pool, now, 200).await?;
        let mut erased = 0;
        for id in due {
            match self.erase_personal_data(id, ErasureReason::RetentionEnded, &Actor::system("retention")).await {
                Ok(newly) => erased += usize::from(newly),
                // Not due yet by the aggregate's own reckoning, or raced: the next sweep looks again.
                Err(EngineError::Rule { .. } | EngineError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(erased)
    }

    /// Erases one request's personal data: the event first (its reason and time are what the
    /// cabinet and the audit trail show), then the data key, the audit salts and the mail jobs'
    /// copies. An erasure cut short is finished by running it again. Returns whether this call
    /// erased it (false: it was erased before, and the rest is made sure of).
    pub async fn erase_personal_data(&self, share_request_id: Uuid, reason: ErasureReason, actor: &Actor) -> Result<bool, EngineError> {
        let now = self.clock.now();
        let newly =
            match self.shares.execute(share_request_id, ShareRequestCommand::ErasePersonalData { at: now, reason }, actor, now).await {
                Ok(()) => true,
                Err(e) if e.rule_code() == Some("share-data-already-erased") => false,
                Err(e) => return Err(e),
            };
        let mut tx = self.pool.begin().await?;
        diia_qr_projections::personal_data::destroy_key(&mut tx, share_request_id)
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        diia_qr_projections::audit_trail::store::erase_scope(
            &mut tx,
            &diia_qr_projections::audit_trail::entries::share_scope(share_request_id),
        )
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
        // A job already handled needs the copies no more; a pending one is sent first (the
        // request ended long ago, so there is none in practice).
        sqlx::query("UPDATE mail_outbox SET payload = '{\"erased\": true}' WHERE aggregate_id = $1 AND status <> 'pending'")
            .bind(share_request_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(newly)
    }

    /// Every projection's position, lag and last error: for operators.
    pub async fn projection_status(&self) -> Result<Vec<ProjectionStatus>, EngineError> {
        let names = diia_qr_projections::projection_names();
        Ok(projection_status(&self.pool, &names).await?)
    }

    /// The newest delivery failures of every partner: for operators.
    pub async fn delivery_failures_on_record(&self) -> Result<Vec<FailureOnRecord>, EngineError> {
        Ok(recent_delivery_failures(&self.pool).await?)
    }

    /// The mail outbox's figures, for the metrics.
    pub async fn outbox_figures(&self) -> Result<diia_qr_projections::reactors::delivery::OutboxFigures, EngineError> {
        Ok(diia_qr_projections::reactors::delivery::outbox_figures(&self.pool).await?)
    }

    /// What a load balancer or a monitor may know without signing in: whether the database
    /// answers and whether each projection keeps up. Error texts stay in the operator's view.
    pub async fn health(&self) -> Health {
        match self.projection_status().await {
            Err(_) => Health { status: HealthStatus::Unavailable, projections: Vec::new() },
            Ok(all) => {
                let status = if all.iter().any(ProjectionStatus::degraded) { HealthStatus::Degraded } else { HealthStatus::Ok };
                let projections = all
                    .into_iter()
                    .map(|p| ProjectionHealth {
                        state: if p.halted {
                            ProjectionState::Halted
                        } else if p.last_error.is_some() {
                            ProjectionState::Failing
                        } else {
                            ProjectionState::Running
                        },
                        name: p.name,
                        lag_events: p.lag_events,
                        lag_seconds: p.lag_seconds,
                    })
                    .collect();
                Health { status, projections }
            }
        }
    }
}

/// The engine's health, as `/health` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    pub projections: Vec<ProjectionHealth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Everything answers and every projection runs.
    Ok,
    /// Commands are served, but a projection is halted or failing: some views are stale.
    Degraded,
    /// The database does not answer.
    Unavailable,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectionHealth {
    pub name: String,
    pub state: ProjectionState,
    pub lag_events: i64,
    pub lag_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionState {
    Running,
    /// Its last batch failed on the database; it retries.
    Failing,
    /// Stopped at an event it cannot apply, until resumed or rebuilt.
    Halted,
}
