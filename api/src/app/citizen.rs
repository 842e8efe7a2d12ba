//! The citizen's use cases, as the Diia app calls them: scan (or type) a QR, see what it asks
//! for, choose documents, pass photo verification, consent with Diia.Signature, send or decline,
//! and the sharing history.

use std::time::{Duration, Instant};

use cqrs_es::persist::SerializedEvent;
use cqrs_es::Aggregate;
use diia_qr_domain::branch::Branch;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::partner::Partner;
use diia_qr_domain::service::Service;
use diia_qr_domain::share_request::{
    DocumentChoice, RegistryError, ScanError, ShareRequest, ShareRequestCommand, ShareSnapshot, ShareStatus,
};
use diia_qr_projections::counters;
use diia_qr_projections::log::{caught_up, Projection};
use diia_qr_projections::views::cabinet::{self, CabinetViews, ShareRow};
use serde::Serialize;
use uuid::Uuid;

use super::qr_tokens::{token_digest, ForeignLink, QrTokens, Scanned};
use super::store::{Actor, FactRead};
use super::{Engine, EngineError};

/// One line of the citizen's history: the share and the label the app shows for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShareHistoryEntry {
    pub label: &'static str,
    #[schema(value_type = crate::schemas::mirrors::ShareRow)]
    pub share: ShareRow,
}

/// The facts a scan is decided on: the service and, once it exists, its branch and partner,
/// with the version of each they were taken at.
pub(super) struct ScanFacts {
    pub(super) service: Service,
    pub(super) recipient: Option<(Branch, Partner)>,
    read: Vec<FactRead>,
}

impl ScanFacts {
    /// What scanning `token` opens, by every scan rule.
    fn decide(&self, token: &str) -> Result<ShareSnapshot, EngineError> {
        let Some((branch, partner)) = &self.recipient else {
            return Err(EngineError::rule(&ScanError::UnknownQr));
        };
        ShareSnapshot::for_scan(partner, branch, &self.service, &token_digest(token)).map_err(|e| EngineError::rule(&e))
    }
}

/// The events of one aggregate out of a read of several.
fn take_events(events: &mut Vec<SerializedEvent>, aggregate_type: &str, id: &str) -> Vec<SerializedEvent> {
    let (taken, rest) = std::mem::take(events).into_iter().partition(|e| e.aggregate_type == aggregate_type && e.aggregate_id == id);
    *events = rest;
    taken
}

impl Engine {
    /// Refuses a citizen the registries do not know.
    pub async fn known_citizen(&self, citizen: &Rnokpp) -> Result<(), EngineError> {
        match self.registry.documents_of(citizen).await {
            Ok(_) => Ok(()),
            Err(RegistryError::UnknownCitizen) => Err(EngineError::not_found("citizen-unknown", "громадянина не знайдено в реєстрах")),
            Err(RegistryError::Unavailable(e)) => Err(EngineError::Unavailable(e)),
        }
    }

    /// The QR token a citizen scanned or typed. A short code is looked up in the short-code view
    /// only to find the service and version; the token is then rebuilt and checked against the
    /// Service aggregate like any other, so a stale view cannot admit a revoked QR.
    async fn resolve_scanned(&self, scanned: &str) -> Result<String, EngineError> {
        match self.qr_tokens.parse_scanned(scanned).map_err(|ForeignLink| EngineError::rule(&ScanError::ForeignLink))? {
            Scanned::Token(token) => Ok(token),
            Scanned::ShortCode(code) => match self.short_code_target(&code).await? {
                Some((service_id, qr_version)) => Ok(self.qr_tokens.token(service_id, qr_version as u32)),
                None => Err(EngineError::rule(&ScanError::UnknownQr)),
            },
        }
    }

    /// A short code's service and version. A code issued a moment ago may not be in the view
    /// yet (a restart, a busy follower): a miss waits, briefly, until the view has caught up
    /// with the log, so a lagging view delays the answer and never changes it.
    async fn short_code_target(&self, code: &str) -> Result<Option<(Uuid, i32)>, EngineError> {
        const PATIENCE: Duration = Duration::from_secs(3);
        let started = Instant::now();
        loop {
            if let Some(target) = cabinet::short_code_target(&self.pool, code).await? {
                return Ok(Some(target));
            }
            if started.elapsed() >= PATIENCE || caught_up(&self.pool, CabinetViews.name()).await? {
                // Caught up: looked up once more, past any event applied since the first look.
                return Ok(cabinet::short_code_target(&self.pool, code).await?);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// What a QR token leads to, checked by every scan rule on what the log has now; the
    /// service id when the token names one that exists.
    pub(super) async fn snapshot_for_token(&self, token: &str) -> (Option<Uuid>, Result<ShareSnapshot, EngineError>) {
        let Some(service_id) = QrTokens::service_of(token) else {
            return (None, Err(EngineError::rule(&ScanError::UnknownQr)));
        };
        match self.scan_facts(service_id).await {
            Ok(facts) => (facts.recipient.is_some().then_some(service_id), facts.decide(token)),
            Err(e) => (None, Err(e)),
        }
    }

    /// The service, branch and partner as held in memory, with no query; `None` unless all
    /// three are held. Only ever a first guess: see [`Engine::scan`].
    fn held_scan_facts(&self, service_id: Uuid) -> Option<ScanFacts> {
        let service_key = service_id.to_string();
        let (service, service_sequence) = self.services.cached(&service_key)?;
        let (branch_key, partner_key) = (service.branch_id()?.to_string(), service.partner_id()?.to_string());
        let (branch, branch_sequence) = self.branches.cached(&branch_key)?;
        let (partner, partner_sequence) = self.partners.cached(&partner_key)?;
        let read = vec![
            (Service::TYPE, service_key, service_sequence),
            (Branch::TYPE, branch_key, branch_sequence),
            (Partner::TYPE, partner_key, partner_sequence),
        ];
        Some(ScanFacts { service, recipient: Some((branch, partner)), read })
    }

    /// A service and, once it exists, its branch and partner, as the log has them now: one
    /// query when the service is in memory (the events after each version held), two when not.
    pub(super) async fn scan_facts(&self, service_id: Uuid) -> Result<ScanFacts, EngineError> {
        let service_key = service_id.to_string();
        let held = self.services.cached(&service_key);
        // A service never changes its branch or partner: the version held names them.
        let known = held.as_ref().and_then(|(s, _)| Some((s.branch_id()?, s.partner_id()?)));
        let ((service, service_sequence), (branch_id, partner_id), mut fresh, wants) = match known {
            Some(ids) => {
                let service_after = held.as_ref().map_or(0, |(_, sequence)| *sequence);
                let mut wants = self.recipient_wants(ids);
                wants.push((Service::TYPE, service_key.clone(), service_after));
                let mut fresh = self.services.reads().events_after_many(&wants).await?;
                let events = take_events(&mut fresh, Service::TYPE, &service_key);
                (self.services.brought_up_to_date(&service_key, service_after, events).await?, ids, fresh, wants)
            }
            None => {
                let (service, sequence) = self.services.load_with_sequence(service_id).await?;
                let (Some(branch_id), Some(partner_id)) = (service.branch_id(), service.partner_id()) else {
                    return Ok(ScanFacts { service, recipient: None, read: Vec::new() });
                };
                let wants = self.recipient_wants((branch_id, partner_id));
                let fresh = self.services.reads().events_after_many(&wants).await?;
                ((service, sequence), (branch_id, partner_id), fresh, wants)
            }
        };
        let (branch_key, partner_key) = (branch_id.to_string(), partner_id.to_string());
        let branch_events = take_events(&mut fresh, Branch::TYPE, &branch_key);
        let partner_events = take_events(&mut fresh, Partner::TYPE, &partner_key);
        let (branch, branch_sequence) = self.branches.brought_up_to_date(&branch_key, wants[0].2, branch_events).await?;
        let (partner, partner_sequence) = self.partners.brought_up_to_date(&partner_key, wants[1].2, partner_events).await?;
        let read = vec![
            (Service::TYPE, service_key, service_sequence),
            (Branch::TYPE, branch_key, branch_sequence),
            (Partner::TYPE, partner_key, partner_sequence),
        ];
        Ok(ScanFacts { service, recipient: Some((branch, partner)), read })
    }

    /// The branch and the partner, each after the version held (branch first, partner second).
    fn recipient_wants(&self, (branch_id, partner_id): (Uuid, Uuid)) -> Vec<(&'static str, String, usize)> {
        let (branch_key, partner_key) = (branch_id.to_string(), partner_id.to_string());
        vec![
            (Branch::TYPE, branch_key.clone(), self.branches.cached_sequence(&branch_key)),
            (Partner::TYPE, partner_key.clone(), self.partners.cached_sequence(&partner_key)),
        ]
    }

    /// The full QR link a printed short code stands for.
    pub async fn qr_link_for_short_code(&self, typed: &str) -> Result<String, EngineError> {
        let Ok(Scanned::ShortCode(code)) = self.qr_tokens.parse_scanned(typed) else {
            return Err(EngineError::rule(&ScanError::UnknownQr));
        };
        let token = self.resolve_scanned(&code).await?;
        Ok(self.qr_tokens.link_of(&token))
    }

    /// What a QR shows before anyone scans it in the app: the landing page of its link.
    pub async fn preview_qr(&self, scanned: &str) -> Result<ShareSnapshot, EngineError> {
        let token = self.resolve_scanned(scanned).await?;
        self.snapshot_for_token(&token).await.1
    }

    /// Resolves a scanned QR into a new share request, answered with the request as opened.
    /// Refused scans are counted per service and reason.
    ///
    /// The scan is decided first on the service, branch and partner held in memory, and the
    /// append checks, in its one statement, that none of them has moved on. Only when one has (a
    /// partner suspended, a QR revoked, here or by another instance), when they are not all
    /// held, or when the versions held would refuse, is it decided again on what the log has
    /// now: a refusal is never decided on memory alone.
    pub async fn scan(&self, citizen: &Rnokpp, scanned: &str) -> Result<(Uuid, ShareRequest), EngineError> {
        // Memory, then the log, then the log again if it moved on in between: past that the
        // recipient is changing faster than a citizen could act on it.
        const DECISIONS: usize = 3;
        let token = match self.resolve_scanned(scanned).await {
            Ok(token) => token,
            Err(e) => return Err(self.refused_scan(None, e).await),
        };
        let Some(service_id) = QrTokens::service_of(&token) else {
            return Err(self.refused_scan(None, EngineError::rule(&ScanError::UnknownQr)).await);
        };
        let share_request_id = Uuid::new_v4();
        let mut held = self.held_scan_facts(service_id);
        for _ in 0..DECISIONS {
            let from_memory = held.is_some();
            let facts = match held.take() {
                Some(facts) => facts,
                None => self.scan_facts(service_id).await?,
            };
            let snapshot = match facts.decide(&token) {
                Ok(snapshot) => snapshot,
                Err(_) if from_memory => continue,
                // A token's service id is only the token's claim: refusals are counted under it
                // once the service exists, so forged tokens naming random services cannot grow
                // the counters.
                Err(e) => return Err(self.refused_scan(facts.recipient.is_some().then_some(service_id), e).await),
            };
            let now = self.clock.now();
            let command = ShareRequestCommand::Open {
                share_request_id,
                citizen: citizen.clone(),
                snapshot,
                opened_at: now,
                expires_at: now + self.settings.share_ttl,
            };
            let actor = Actor::citizen_of(share_request_id);
            if let Some(opened) = self.shares.execute_new_if_unchanged(share_request_id, command, &actor, now, facts.read).await? {
                return Ok((share_request_id, opened));
            }
        }
        Err(EngineError::Unavailable("the QR's service, branch or partner kept changing during the scan".into()))
    }

    /// `refusal`, counted per service and reason when it is a rule's.
    async fn refused_scan(&self, service_id: Option<Uuid>, refusal: EngineError) -> EngineError {
        if let Some(code) = refusal.rule_code() {
            counters::count_refused_scan(&self.pool, service_id, code).await;
        }
        refusal
    }

    /// A citizen's own request; someone else's is "not found", never "forbidden".
    pub async fn share_request(&self, citizen: &Rnokpp, id: Uuid) -> Result<ShareRequest, EngineError> {
        let share = self.shares.load(id).await?;
        if share.citizen() != Some(citizen) {
            return Err(EngineError::not_found("share-not-found", "запит не знайдено"));
        }
        Ok(share)
    }

    async fn citizen_command(&self, citizen: &Rnokpp, id: Uuid, command: ShareRequestCommand) -> Result<(), EngineError> {
        self.share_request(citizen, id).await?;
        self.shares.execute(id, command, &Actor::citizen_of(id), self.clock.now()).await
    }

    pub async fn choose_documents(&self, citizen: &Rnokpp, id: Uuid, choices: Vec<DocumentChoice>) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::ChooseDocuments { choices, at: self.clock.now() }).await
    }

    /// Hands the liveness provider's assertion to the request.
    pub async fn verify_photo(&self, citizen: &Rnokpp, id: Uuid, assertion: &str) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::VerifyPhoto { assertion: assertion.to_string(), at: self.clock.now() }).await
    }

    /// The development liveness provider's check of a photo for the citizen's own request: the
    /// assertion the app would get from the real provider (the demo, and HTTP with `--dev-sign-in`).
    pub async fn dev_liveness_check(&self, citizen: &Rnokpp, id: Uuid, photo: &[u8]) -> Result<String, EngineError> {
        self.share_request(citizen, id).await?;
        self.dev_liveness.check(citizen, id, photo, self.clock.now()).map_err(|e| EngineError::Unavailable(e.to_string()))
    }

    pub async fn confirm(&self, citizen: &Rnokpp, id: Uuid, code: &str) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::Confirm { code: code.to_string(), at: self.clock.now() }).await
    }

    /// Sends what the citizen consented to, once the recipient is rechecked as it stands now: a
    /// partner suspended, a QR revoked or a mailbox changed since the scan stops the copies.
    pub async fn send(&self, citizen: &Rnokpp, id: Uuid) -> Result<(), EngineError> {
        let share = self.share_request(citizen, id).await?;
        let recipient = match share.snapshot() {
            Some(snapshot) => {
                let ScanFacts { service, recipient, .. } = self.scan_facts(snapshot.service_id).await?;
                let (branch, partner) = recipient.ok_or_else(|| EngineError::Internal("a scanned service has no branch".into()))?;
                let digest = token_digest(&self.qr_tokens.token(snapshot.service_id, snapshot.qr_version));
                snapshot.recheck(&partner, &branch, &service, &digest)
            }
            // Not opened: the aggregate refuses the command itself.
            None => Ok(()),
        };
        let command = ShareRequestCommand::Send { at: self.clock.now(), recipient, copy_seed: Uuid::new_v4() };
        self.shares.execute(id, command, &Actor::citizen_of(id), self.clock.now()).await
    }

    pub async fn decline(&self, citizen: &Rnokpp, id: Uuid) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::Decline { at: self.clock.now() }).await
    }

    /// The citizen's latest shares (at most 200), newest first, each with the app's label.
    pub async fn history(&self, citizen: &Rnokpp) -> Result<Vec<ShareHistoryEntry>, EngineError> {
        let rows = cabinet::history_of(&self.pool, citizen.as_str(), 200).await?;
        Ok(rows
            .into_iter()
            .map(|share| {
                let label = serde_json::from_value::<ShareStatus>(serde_json::Value::String(share.status.clone()))
                    .map_or("В обробці", |s| s.history_label_uk());
                ShareHistoryEntry { label, share }
            })
            .collect())
    }
}
