//! The cabinet's views, one use case each: the overview over a range of Kyiv days, and the
//! details of one branch, one service and one received share. Read from the views, scoped to the
//! signed-in partner in every query: another partner's id is "not found", never "forbidden".

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::share_request::{ErasureReason, ShareStatus};
use diia_qr_projections::counters;
use diia_qr_projections::views::cabinet::{self, BranchRow, ServiceRow, ShareRow};
use diia_qr_projections::views::overview::{self, KyivRange, RangeProblem, ReceivedCount};
use diia_qr_projections::views::search::TimeBound;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Engine, EngineError, PartnerIdentity};
use crate::schemas::{DocumentTypeCode, ShareStatusName};

/// The cabinet at a glance over a range of Kyiv days.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub range: OverviewRange,
    pub partner: PartnerStanding,
    pub branches: Vec<BranchState>,
    pub services: Vec<ServiceOverview>,
    /// Shares received (sent by the citizen) per Kyiv day, all services together.
    pub received: ReceivedSeries,
    pub delivery_failures: DeliveryFailures,
}

/// The range an overview covers: `[starts_at, ends_before)`, over the Kyiv days it touches.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewRange {
    pub starts_at: DateTime<Utc>,
    pub ends_before: DateTime<Utc>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub days: usize,
}

/// Where the partner stands with the service.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerStanding {
    pub partner_id: Uuid,
    pub organisation_name: String,
    pub registry_code: String,
    /// `unregistered`, `onboarding`, `active` or `suspended` (by an operator).
    #[schema(example = "active")]
    pub status: String,
    pub status_uk: &'static str,
}

/// Whether a branch's mailbox may receive copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailboxState {
    /// Copies go to `confirmed_address`.
    Confirmed,
    /// A confirmation code was mailed to `pending_address`; no copies go anywhere until it is used.
    AwaitingConfirmation,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Mailbox {
    pub state: MailboxState,
    pub confirmed_address: Option<String>,
    pub pending_address: Option<String>,
}

/// A branch and its mailbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct BranchState {
    pub branch_id: Uuid,
    pub name: String,
    pub address: String,
    pub mailbox: Mailbox,
    /// Its mailbox is confirmed and the partner is active: its QR codes can be scanned.
    pub receives_copies: bool,
}

impl BranchState {
    fn of(row: BranchRow, partner_active: bool) -> Self {
        let (state, confirmed_address, pending_address) = if row.email_confirmed {
            (MailboxState::Confirmed, Some(row.email), None)
        } else {
            (MailboxState::AwaitingConfirmation, None, Some(row.email).filter(|e| !e.is_empty()))
        };
        Self {
            branch_id: row.branch_id,
            name: row.name,
            address: row.address,
            receives_copies: partner_active && state == MailboxState::Confirmed,
            mailbox: Mailbox { state, confirmed_address, pending_address },
        }
    }
}

/// Where a service's QR code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QrState {
    NotIssued,
    /// Version `version` works.
    Active,
    /// The partner revoked it; scans are refused until a new one is issued.
    Revoked,
    /// The service was deactivated, and its QR with it.
    ServiceDeactivated,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QrStanding {
    pub state: QrState,
    /// The current (or last) version; 0 before the first.
    pub version: u32,
    pub active: bool,
}

/// Refused scans of a service's QR codes (all versions), by the refusal's code.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct RefusedScans {
    pub total: i64,
    #[schema(example = json!({"qr-revoked": 2, "qr-forged": 1}))]
    pub by_reason: BTreeMap<String, i64>,
}

/// A document type with its Ukrainian title.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestedDocument {
    #[serde(rename = "type")]
    #[schema(value_type = DocumentTypeCode)]
    pub document_type: DocumentType,
    pub title: &'static str,
}

fn documents_of(json: serde_json::Value) -> Vec<RequestedDocument> {
    let types: Vec<DocumentType> = serde_json::from_value(json).unwrap_or_default();
    types.into_iter().map(|t| RequestedDocument { document_type: t, title: t.title_uk() }).collect()
}

fn names_of(json: serde_json::Value) -> Vec<String> {
    serde_json::from_value(json).unwrap_or_default()
}

/// A service, its QR and its refused scans.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceSummary {
    pub service_id: Uuid,
    pub branch_id: Uuid,
    /// Its purposes, as the citizen reads them.
    pub names: Vec<String>,
    pub documents: Vec<RequestedDocument>,
    pub retention_days: i32,
    pub active: bool,
    pub qr: QrStanding,
    pub refused_scans: RefusedScans,
}

impl ServiceSummary {
    fn of(row: ServiceRow, refused_scans: RefusedScans) -> Self {
        let version = u32::try_from(row.qr_version).unwrap_or_default();
        let state = match (row.active, row.qr_active, version) {
            (false, _, _) => QrState::ServiceDeactivated,
            (true, true, _) => QrState::Active,
            (true, false, 0) => QrState::NotIssued,
            (true, false, _) => QrState::Revoked,
        };
        Self {
            service_id: row.service_id,
            branch_id: row.branch_id,
            names: names_of(row.names),
            documents: documents_of(row.documents),
            retention_days: row.retention_days,
            active: row.active,
            qr: QrStanding { state, version, active: row.qr_active },
            refused_scans,
        }
    }
}

/// A service in the overview: with what it received over the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOverview {
    #[serde(flatten)]
    pub service: ServiceSummary,
    pub received: ReceivedSeries,
}

/// Shares received over the range: every Kyiv day in it, zero where none came.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivedSeries {
    pub total: i64,
    pub per_day: Vec<DayCount>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayCount {
    /// A Kyiv calendar day.
    pub day: NaiveDate,
    pub shares: i64,
}

impl ReceivedSeries {
    /// The zero-filled series over `days` of the counts `matching` selects.
    fn of(days: &[NaiveDate], counts: &[ReceivedCount], matching: impl Fn(&ReceivedCount) -> bool) -> Self {
        let mut per_day: Vec<DayCount> = days.iter().map(|&day| DayCount { day, shares: 0 }).collect();
        for count in counts.iter().filter(|c| matching(c)) {
            if let Ok(i) = days.binary_search(&count.day) {
                per_day[i].shares += count.shares;
            }
        }
        Self { total: per_day.iter().map(|d| d.shares).sum(), per_day }
    }
}

/// Shares whose copies the mail server refused, in the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryFailures {
    /// How many in the range.
    pub total: i64,
    /// The newest, at most 100.
    pub listed: Vec<DeliveryFailure>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryFailure {
    pub share_request_id: Uuid,
    pub branch_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub failed_at: DateTime<Utc>,
    /// The mail server's reply; absent once the share's personal data was erased.
    pub reason: Option<String>,
}

/// One branch with its services.
#[derive(Debug, Serialize, ToSchema)]
pub struct BranchDetails {
    #[serde(flatten)]
    pub branch: BranchState,
    pub services: Vec<ServiceSummary>,
}

/// One service with its branch and its requests by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetails {
    #[serde(flatten)]
    pub service: ServiceSummary,
    pub branch: Option<BranchState>,
    /// Its share requests, all time, by status (`opened`, `sent`, `delivered`, …).
    #[schema(example = json!({"delivered": 12, "declined": 1}))]
    pub shares_by_status: BTreeMap<String, i64>,
}

/// One share request the partner received, with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareDetails {
    pub share_request_id: Uuid,
    pub branch_id: Uuid,
    pub service_id: Uuid,
    /// As the citizen saw them at the scan.
    pub organisation_name: String,
    pub branch_address: String,
    pub purposes: Vec<String>,
    pub documents: Vec<RequestedDocument>,
    #[schema(value_type = ShareStatusName)]
    pub status: ShareStatus,
    pub status_uk: &'static str,
    pub opened_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivery: Option<DeliveryOutcome>,
    /// Every status the request reached, in order, each with its time.
    pub timeline: Vec<TimelineEntry>,
    pub erasure: Option<Erasure>,
}

/// What the mail server said about the copies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Sent; the mail server has not answered yet.
    Awaiting,
    /// The mail server accepted the letter at `accepted_at`.
    Delivered { accepted_at: DateTime<Utc>, message_id: Option<String> },
    /// The mail server refused it.
    Failed { failed_at: Option<DateTime<Utc>>, reason: Option<String> },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    #[schema(value_type = ShareStatusName)]
    pub status: String,
    pub at: DateTime<Utc>,
    /// On `delivered`: the Message-ID the mail server accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// When and why the request's personal data was removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erasure {
    pub at: DateTime<Utc>,
    #[schema(example = "retention_ended")]
    pub reason: Option<String>,
    pub reason_uk: Option<&'static str>,
}

fn partner_status_uk(status: &str) -> &'static str {
    match status {
        "onboarding" => "реєстрація триває",
        "active" => "партнер",
        "suspended" => "призупинено",
        _ => "не зареєстровано",
    }
}

fn share_status_uk(status: ShareStatus) -> &'static str {
    match status {
        ShareStatus::New => "новий",
        ShareStatus::Opened => "відкрито",
        ShareStatus::PhotoVerified => "фото перевірено",
        ShareStatus::Consented => "згоду підписано",
        ShareStatus::Sent => "надіслано",
        ShareStatus::Delivered => "доставлено",
        ShareStatus::DeliveryFailed => "не доставлено",
        ShareStatus::Declined => "відхилено громадянином",
        ShareStatus::Expired => "час минув",
    }
}

fn range_refused(problem: RangeProblem) -> EngineError {
    let code = match problem {
        RangeProblem::Reversed => "overview-range-reversed",
        RangeProblem::TooLong => "overview-range-too-long",
        RangeProblem::OutOfCalendar => "overview-range-out-of-calendar",
    };
    EngineError::invalid(code, problem)
}

impl Engine {
    /// Waits, briefly, until the cabinet's views hold the events this request's commands
    /// appended, so that a page shown right after the partner's own change shows it (the views
    /// are built as events come). Called after a page's command succeeds; others' events do not
    /// delay it, and a lagging or halted view delays the answer by at most three seconds and
    /// never fails it.
    pub async fn settle_cabinet_views(&self) {
        use diia_qr_projections::log::{caught_up_on, Projection};
        const PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);
        let written = super::request_context::written();
        if written.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        while started.elapsed() < PATIENCE {
            match caught_up_on(&self.pool, diia_qr_projections::views::cabinet::CabinetViews.name(), &written).await {
                Ok(false) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                Ok(true) | Err(_) => return,
            }
        }
    }

    /// The overview from `from` to `to` (both included; the last 30 Kyiv days by default).
    pub async fn overview(&self, who: &PartnerIdentity, from: Option<TimeBound>, to: Option<TimeBound>) -> Result<Overview, EngineError> {
        let range = KyivRange::of(from, to, self.clock.now()).map_err(range_refused)?;
        let partner_id = who.partner_id();
        let partner = self.partner_standing(who).await?;
        let partner_active = partner.status == "active";
        let branches =
            cabinet::branches_of(&self.pool, partner_id).await?.into_iter().map(|b| BranchState::of(b, partner_active)).collect();
        let received = overview::received_per_day(&self.pool, partner_id, &range).await?;
        let services = self
            .service_summaries(cabinet::services_of(&self.pool, partner_id).await?)
            .await?
            .into_iter()
            .map(|service| {
                let id = service.service_id;
                ServiceOverview { received: ReceivedSeries::of(&range.days, &received, |c| c.service_id == id), service }
            })
            .collect();
        let (failures, failures_total) = overview::delivery_failures(&self.pool, partner_id, &range).await?;
        let listed = failures
            .into_iter()
            .map(|f| DeliveryFailure {
                share_request_id: f.share_request_id,
                branch_id: f.branch_id,
                service_id: f.service_id,
                failed_at: f.failed_at,
                reason: f.reason.filter(|r| !r.is_empty()),
            })
            .collect();
        Ok(Overview {
            received: ReceivedSeries::of(&range.days, &received, |_| true),
            range: OverviewRange {
                starts_at: range.start,
                ends_before: range.end,
                first_day: range.days[0],
                last_day: range.days[range.days.len() - 1],
                days: range.days.len(),
            },
            partner,
            branches,
            services,
            delivery_failures: DeliveryFailures { total: failures_total, listed },
        })
    }

    /// One of the partner's branches with its services.
    pub async fn branch_details(&self, who: &PartnerIdentity, branch_id: Uuid) -> Result<BranchDetails, EngineError> {
        let partner_id = who.partner_id();
        let row = cabinet::branch_of(&self.pool, partner_id, branch_id)
            .await?
            .ok_or_else(|| EngineError::not_found("branch-not-found", "відділення не знайдено"))?;
        let partner_active = self.partner_standing(who).await?.status == "active";
        let services = cabinet::services_of(&self.pool, partner_id).await?.into_iter().filter(|s| s.branch_id == branch_id).collect();
        Ok(BranchDetails { branch: BranchState::of(row, partner_active), services: self.service_summaries(services).await? })
    }

    /// One of the partner's services with its branch and its requests by status.
    pub async fn service_details(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<ServiceDetails, EngineError> {
        let partner_id = who.partner_id();
        let row = cabinet::service_of(&self.pool, partner_id, service_id)
            .await?
            .ok_or_else(|| EngineError::not_found("service-not-found", "послугу не знайдено"))?;
        let partner_active = self.partner_standing(who).await?.status == "active";
        let branch = cabinet::branch_of(&self.pool, partner_id, row.branch_id).await?.map(|b| BranchState::of(b, partner_active));
        let shares_by_status = overview::shares_by_status(&self.pool, partner_id, service_id).await?.into_iter().collect();
        let service = self.service_summaries(vec![row]).await?.pop().expect("one service in, one out");
        Ok(ServiceDetails { service, branch, shares_by_status })
    }

    /// One share request the partner received: what was asked, its timeline, the delivery.
    pub async fn share_details(&self, who: &PartnerIdentity, share_id: Uuid) -> Result<ShareDetails, EngineError> {
        let partner_id = who.partner_id();
        let row: ShareRow = cabinet::share_of(&self.pool, partner_id, share_id)
            .await?
            .ok_or_else(|| EngineError::not_found("share-not-found", "такого отриманого запиту немає"))?;
        let timeline = overview::timeline_of(&self.pool, partner_id, share_id).await?;
        let status: ShareStatus = serde_json::from_value(serde_json::Value::String(row.status.clone()))
            .map_err(|e| EngineError::Internal(format!("статус «{}» у поданні: {e}", row.status)))?;
        let reached = |s: &str| timeline.iter().rev().find(|t| t.status == s);
        let delivery = match status {
            ShareStatus::Sent => Some(DeliveryOutcome::Awaiting),
            ShareStatus::Delivered => Some(DeliveryOutcome::Delivered {
                accepted_at: row.delivered_at.or(reached("delivered").map(|t| t.at)).unwrap_or(row.opened_at),
                message_id: reached("delivered").and_then(|t| t.message_id.clone()),
            }),
            ShareStatus::DeliveryFailed => Some(DeliveryOutcome::Failed {
                failed_at: reached("delivery_failed").map(|t| t.at),
                reason: row.failure_reason.clone().filter(|r| !r.is_empty()),
            }),
            _ => None,
        };
        let erasure = row.erased_at.map(|at| {
            let reason: Option<ErasureReason> =
                row.erased_reason.as_ref().and_then(|r| serde_json::from_value(serde_json::Value::String(r.clone())).ok());
            Erasure { at, reason: row.erased_reason.clone(), reason_uk: reason.map(ErasureReason::label_uk) }
        });
        Ok(ShareDetails {
            share_request_id: row.share_request_id,
            branch_id: row.branch_id,
            service_id: row.service_id,
            organisation_name: row.organisation_name,
            branch_address: row.branch_address,
            purposes: names_of(row.purposes),
            documents: documents_of(row.documents),
            status,
            status_uk: share_status_uk(status),
            opened_at: row.opened_at,
            sent_at: row.sent_at,
            delivery,
            timeline: timeline.into_iter().map(|t| TimelineEntry { status: t.status, at: t.at, message_id: t.message_id }).collect(),
            erasure,
        })
    }

    async fn partner_standing(&self, who: &PartnerIdentity) -> Result<PartnerStanding, EngineError> {
        let row = cabinet::partner_of(&self.pool, who.partner_id()).await?;
        let status = row.as_ref().map_or("unregistered".to_string(), |r| r.status.clone());
        Ok(PartnerStanding {
            partner_id: who.partner_id(),
            organisation_name: row.as_ref().map_or_else(|| who.organisation_name.clone(), |r| r.organisation_name.clone()),
            registry_code: who.kind.registry_code().to_string(),
            status_uk: partner_status_uk(&status),
            status,
        })
    }

    /// The services with their refused scans, counted in one query.
    async fn service_summaries(&self, rows: Vec<ServiceRow>) -> Result<Vec<ServiceSummary>, EngineError> {
        let ids: Vec<Uuid> = rows.iter().map(|s| s.service_id).collect();
        let mut refusals: BTreeMap<Uuid, RefusedScans> = BTreeMap::new();
        for (service_id, reason, count) in counters::refused_scans_of_services(&self.pool, &ids).await? {
            let entry = refusals.entry(service_id).or_default();
            entry.total += count;
            entry.by_reason.insert(reason, count);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let refused = refusals.remove(&row.service_id).unwrap_or_default();
                ServiceSummary::of(row, refused)
            })
            .collect())
    }
}
