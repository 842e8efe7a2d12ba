//! The application layer: one method per use case. It loads the aggregates a rule needs, hands
//! their facts to the command, and executes it through cqrs-es on the PostgreSQL event store.
//! HTTP, the CLI and the demo all go through here.

use std::collections::HashMap;
use std::sync::Arc;

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, CqrsFramework, EventStore};
use diia_qr_domain::branch::{Branch, BranchAddress, BranchCommand, BranchServices, EmailConfirmationCodes};
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::identifiers::{EmailAddress, PhoneNumber, Rnokpp};
use diia_qr_domain::partner::{Head, OfferAcceptance, Partner, PartnerCommand, PartnerKind, PartnerStatus, Profile};
use diia_qr_domain::service::{BranchStanding, LegalBasis, Service, ServiceCommand};
use diia_qr_domain::share_request::{
    DocumentChoice, DocumentRegistry, RegistryError, ScanError, ShareRequest, ShareRequestCommand, ShareRequestServices, ShareSnapshot,
};
use diia_qr_domain::RuleViolation;
use diia_qr_projections::codes::{hmac_sha256, sha256_hex};
use diia_qr_projections::delivery::DeliveryOutcomes;
use diia_qr_projections::poster::PosterContent;
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use uuid::Uuid;

/// What went wrong, in terms the API maps to a problem response.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A domain rule refused the command.
    #[error("{message}")]
    Rule { code: &'static str, diia_code: Option<u32>, message: String },
    #[error("{1}")]
    NotFound(&'static str, &'static str),
    /// Another command changed the aggregate first (optimistic concurrency).
    #[error("запит змінено іншою дією одночасно з вашою; оновіть дані і спробуйте ще раз")]
    Conflict,
    #[error("сховище подій тимчасово недоступне: {0}")]
    Unavailable(String),
    #[error("внутрішня помилка: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn rule(e: &impl RuleViolation) -> Self {
        Self::Rule { code: e.code(), diia_code: e.diia_code(), message: e.to_string() }
    }
}

impl<E: RuleViolation> From<AggregateError<E>> for EngineError {
    fn from(err: AggregateError<E>) -> Self {
        match err {
            AggregateError::UserError(e) => Self::rule(&e),
            AggregateError::AggregateConflict => Self::Conflict,
            AggregateError::DatabaseConnectionError(e) => Self::Unavailable(e.to_string()),
            AggregateError::DeserializationError(e) | AggregateError::UnexpectedError(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Who issued a command: kept in every event's metadata for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn partner_head(head: &Head) -> Self {
        Self(format!("partner-head:{}", head.rnokpp))
    }
    pub fn citizen(rnokpp: &Rnokpp) -> Self {
        Self(format!("citizen:{rnokpp}"))
    }
    pub fn system(what: &str) -> Self {
        Self(format!("system:{what}"))
    }
}

/// One aggregate type's command side and a plain event store to load current state with.
struct Store<A: Aggregate> {
    cqrs: CqrsFramework<A, PersistedEventStore<PostgresEventRepository, A>>,
    events: PersistedEventStore<PostgresEventRepository, A>,
}

impl<A: Aggregate> Store<A>
where
    A::Error: RuleViolation,
{
    fn new(pool: &PgPool, services: A::Services) -> Self {
        // The plain event store: postgres-es 0.5.0's snapshot and aggregate stores apply events twice.
        Self {
            cqrs: CqrsFramework::new(PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone())), vec![], services),
            events: PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone())),
        }
    }

    async fn load(&self, id: Uuid) -> Result<A, EngineError> {
        let mut ctx = self.events.load_aggregate(&id.to_string()).await?;
        Ok(std::mem::take(ctx.aggregate()))
    }

    async fn execute(&self, id: Uuid, command: A::Command, actor: &Actor) -> Result<(), EngineError> {
        let metadata = HashMap::from([
            ("actor".to_string(), actor.0.clone()),
            ("command_id".to_string(), Uuid::new_v4().to_string()),
            ("issued_at".to_string(), Utc::now().to_rfc3339()),
        ]);
        Ok(self.cqrs.execute_with_metadata(&id.to_string(), command, metadata).await?)
    }
}

/// The public offer partners accept: its version and text. Its SHA-256 is what acceptance
/// records, so a changed text cannot be passed off as the accepted one.
pub const OFFER_VERSION: &str = "2026-11-01";
pub const OFFER_TEXT: &str = "Публічна оферта про надання послуги «Дія.QR» (редакція від 01.11.2026).\n\
1. Послуга дає змогу партнеру отримувати на підтверджену електронну пошту відділення копії документів громадян, \
засвідчені кваліфікованою електронною печаткою, за їхньою згодою, підписаною Дія.Підписом.\n\
2. Партнер обробляє отримані персональні дані лише з метою, зазначеною в назві послуги, і не довше за вказаний строк \
зберігання, відповідно до Закону України «Про захист персональних даних».\n\
3. Партнер не використовує в назвах відділень і послуг позначення «Дія» та не вводить громадян в оману щодо мети запиту.\n";

pub fn offer_sha256() -> String {
    sha256_hex(OFFER_TEXT.as_bytes())
}

/// Fixed namespace for partner ids derived from their registry codes.
const PARTNER_NAMESPACE: Uuid = Uuid::from_u128(0x6469_6961_2d71_5f70_6172_746e_6572_7331);

pub fn partner_id_of(kind: &PartnerKind) -> Uuid {
    let name = match kind {
        PartnerKind::LegalEntity { edrpou } => format!("edrpou:{edrpou}"),
        PartnerKind::SoleProprietor { rnokpp } => format!("rnokpp:{rnokpp}"),
    };
    Uuid::new_v5(&PARTNER_NAMESPACE, name.as_bytes())
}

/// The signed-in head of a partner (from a КЕП sign-in; a development session for now).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartnerIdentity {
    pub kind: PartnerKind,
    pub organisation_name: String,
    pub head: Head,
}

impl PartnerIdentity {
    pub fn partner_id(&self) -> Uuid {
        partner_id_of(&self.kind)
    }
}

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Base of the links printed in QR codes, e.g. `https://qr.example.ua`.
    pub public_base_url: String,
    /// How long a scanned request stays open.
    pub share_ttl: Duration,
}

/// A QR link, the version of the service's QR it belongs to, and its printed short code and link.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QrLink {
    pub service_id: Uuid,
    pub qr_version: u32,
    pub link: String,
    /// `XXXX-XXXX`: printed beside the QR, shown by the app after a scan.
    pub short_code: String,
    /// `<base>/q/XXXXXXXX`: for a phone whose camera fails.
    pub short_link: String,
}

/// What the printable poster of a QR shows: the scan's snapshot and the QR's links.
pub fn poster_content<'a>(qr: &'a QrLink, snapshot: &'a ShareSnapshot) -> PosterContent<'a> {
    PosterContent {
        organisation_name: &snapshot.organisation_name,
        branch_name: &snapshot.branch_name,
        branch_address: &snapshot.branch_address,
        service_names: &snapshot.service_names,
        documents: &snapshot.documents,
        link: &qr.link,
        short_code: &qr.short_code,
        short_link: &qr.short_link,
    }
}

/// Crockford's base32: no I, L, O or U, so a code read aloud or typed is not mistaken.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A short code as printed: `XXXX-XXXX`.
pub fn display_short_code(code: &str) -> String {
    if code.len() == 8 {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// Normalises a typed short code: case, dashes and spaces ignored; O read as 0, I and L as 1.
pub fn normalise_short_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (code.len() == 8 && code.bytes().all(|b| CROCKFORD.contains(&b))).then_some(code)
}

pub struct Engine {
    pub pool: PgPool,
    partners: Store<Partner>,
    branches: Store<Branch>,
    services: Store<Service>,
    shares: Store<ShareRequest>,
    registry: Arc<dyn DocumentRegistry>,
    secret: Vec<u8>,
    pub settings: EngineSettings,
}

impl Engine {
    pub fn new(
        pool: PgPool,
        secret: Vec<u8>,
        codes: Arc<dyn EmailConfirmationCodes>,
        citizen: ShareRequestServices,
        settings: EngineSettings,
    ) -> Self {
        Self {
            partners: Store::new(&pool, ()),
            branches: Store::new(&pool, BranchServices { codes }),
            services: Store::new(&pool, ()),
            registry: citizen.registry.clone(),
            shares: Store::new(&pool, citizen),
            pool,
            secret,
            settings,
        }
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    // ---- partner onboarding ----

    pub async fn register_partner(&self, who: &PartnerIdentity) -> Result<Uuid, EngineError> {
        let id = who.partner_id();
        let command =
            PartnerCommand::Register { kind: who.kind.clone(), organisation_name: who.organisation_name.clone(), head: who.head.clone() };
        self.partners.execute(id, command, &Actor::partner_head(&who.head)).await?;
        Ok(id)
    }

    pub async fn partner(&self, who: &PartnerIdentity) -> Result<Partner, EngineError> {
        self.partners.load(who.partner_id()).await
    }

    pub async fn fill_profile(&self, who: &PartnerIdentity, email: &str, phone: &str, passport: &str) -> Result<(), EngineError> {
        let email = EmailAddress::parse(email).map_err(|e| rule("email-invalid", e))?;
        let phone = PhoneNumber::parse(phone).map_err(|e| rule("phone-invalid", e))?;
        let profile = Profile { email, phone, passport: passport.trim().to_string() };
        self.partners.execute(who.partner_id(), PartnerCommand::FillProfile { profile }, &Actor::partner_head(&who.head)).await
    }

    pub async fn accept_offer(&self, who: &PartnerIdentity, version: &str, sha256: &str) -> Result<(), EngineError> {
        if version != OFFER_VERSION || !sha256.eq_ignore_ascii_case(&offer_sha256()) {
            return Err(EngineError::Rule {
                code: "offer-outdated",
                diia_code: None,
                message: format!("чинна редакція оферти — {OFFER_VERSION}; ознайомтеся з нею і прийміть саме її"),
            });
        }
        let offer = OfferAcceptance { version: version.to_string(), sha256: offer_sha256() };
        self.partners.execute(who.partner_id(), PartnerCommand::AcceptOffer { offer }, &Actor::partner_head(&who.head)).await
    }

    /// The accession application's text for this partner: what the head's КЕП signs.
    pub fn accession_application(who: &PartnerIdentity) -> String {
        format!(
            "Заява про приєднання до публічної оферти «Дія.QR» (редакція {OFFER_VERSION}).\nОрганізація: {}\nКод: {}\nКерівник: {}, РНОКПП {}\n",
            who.organisation_name,
            who.kind.registry_code(),
            who.head.full_name,
            who.head.rnokpp
        )
    }

    pub async fn sign_accession_application(&self, who: &PartnerIdentity) -> Result<(), EngineError> {
        let application_sha256 = sha256_hex(Self::accession_application(who).as_bytes());
        let command = PartnerCommand::SignAccessionApplication { signer: who.head.rnokpp.clone(), application_sha256 };
        self.partners.execute(who.partner_id(), command, &Actor::partner_head(&who.head)).await
    }

    async fn ensure_partner_exists(&self, partner_id: Uuid) -> Result<(), EngineError> {
        match self.partners.load(partner_id).await?.kind() {
            Some(_) => Ok(()),
            None => Err(EngineError::NotFound("partner-not-found", "партнера не знайдено")),
        }
    }

    /// An operator suspends a partner: its QR codes stop working until it is reinstated.
    pub async fn suspend_partner(&self, operator: &str, partner_id: Uuid, reason: &str) -> Result<(), EngineError> {
        self.ensure_partner_exists(partner_id).await?;
        let command = PartnerCommand::Suspend { reason: reason.trim().to_string() };
        self.partners.execute(partner_id, command, &Actor(format!("operator:{operator}"))).await
    }

    pub async fn reinstate_partner(&self, operator: &str, partner_id: Uuid) -> Result<(), EngineError> {
        self.ensure_partner_exists(partner_id).await?;
        self.partners.execute(partner_id, PartnerCommand::Reinstate, &Actor(format!("operator:{operator}"))).await
    }

    // ---- branches and services ----

    pub async fn create_branch(&self, who: &PartnerIdentity, name: &str, address: BranchAddress, email: &str) -> Result<Uuid, EngineError> {
        let partner = self.partner(who).await?;
        let branch_id = Uuid::new_v4();
        let command = BranchCommand::Create {
            branch_id,
            partner_id: who.partner_id(),
            partner_status: partner.status(),
            name: name.to_string(),
            address,
            email: email.to_string(),
            confirmation_nonce: random_token(16),
        };
        self.branches.execute(branch_id, command, &Actor::partner_head(&who.head)).await?;
        Ok(branch_id)
    }

    /// A new mailbox for a branch: copies stop until it is confirmed.
    pub async fn change_branch_email(&self, who: &PartnerIdentity, branch_id: Uuid, email: &str) -> Result<(), EngineError> {
        let branch = self.branches.load(branch_id).await?;
        if branch.partner_id() != Some(who.partner_id()) {
            return Err(EngineError::NotFound("branch-not-found", "відділення не знайдено"));
        }
        let command = BranchCommand::ChangeEmail { email: email.to_string(), confirmation_nonce: random_token(16) };
        self.branches.execute(branch_id, command, &Actor::partner_head(&who.head)).await
    }

    /// Confirms a branch's mailbox with the code mailed to it; whoever reads that mailbox may.
    pub async fn confirm_branch_email(&self, branch_id: Uuid, code: &str) -> Result<(), EngineError> {
        self.branches
            .execute(branch_id, BranchCommand::ConfirmEmail { code: code.to_string() }, &Actor(format!("mailbox-of:{branch_id}")))
            .await
    }

    async fn branch_standing(&self, who: &PartnerIdentity, branch_id: Uuid) -> Result<BranchStanding, EngineError> {
        let partner = self.partner(who).await?;
        let branch = self.branches.load(branch_id).await?;
        Ok(BranchStanding {
            branch_exists: branch.exists(),
            branch_partner_id: branch.partner_id(),
            email_confirmed: branch.confirmed_email().is_some(),
            partner_status: partner.status(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_service(
        &self,
        who: &PartnerIdentity,
        branch_id: Uuid,
        names: &str,
        documents: Vec<DocumentType>,
        legal_basis: LegalBasis,
        retention_days: u32,
    ) -> Result<Uuid, EngineError> {
        let branch = self.branch_standing(who, branch_id).await?;
        let service_id = Uuid::new_v4();
        let command = ServiceCommand::Create {
            service_id,
            partner_id: who.partner_id(),
            branch_id,
            branch,
            names: names.to_string(),
            documents,
            legal_basis,
            retention_days,
        };
        self.services.execute(service_id, command, &Actor::partner_head(&who.head)).await?;
        Ok(service_id)
    }

    async fn own_service(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<Service, EngineError> {
        let service = self.services.load(service_id).await?;
        if service.partner_id() != Some(who.partner_id()) {
            return Err(EngineError::NotFound("service-not-found", "послугу не знайдено"));
        }
        Ok(service)
    }

    /// Issues the service's QR, or rotates it: the previous link stops working.
    pub async fn issue_qr(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<QrLink, EngineError> {
        let service = self.own_service(who, service_id).await?;
        let branch_id = service.branch_id().ok_or(EngineError::NotFound("service-not-found", "послугу не знайдено"))?;
        let branch = self.branch_standing(who, branch_id).await?;
        let qr_version = service.qr_version() + 1;
        let token = self.qr_token(service_id, qr_version);
        let command = ServiceCommand::IssueQr { branch, token_digest: token_digest(&token), short_code: self.short_code(&token) };
        self.services.execute(service_id, command, &Actor::partner_head(&who.head)).await?;
        Ok(self.qr_link(service_id, qr_version, &token))
    }

    /// The service's current QR link, for downloading the QR again.
    pub async fn current_qr(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<QrLink, EngineError> {
        let service = self.own_service(who, service_id).await?;
        let token = self.qr_token(service_id, service.qr_version());
        if service.qr_version() == 0 || service.check_qr_token(&token_digest(&token)).is_err() {
            return Err(EngineError::NotFound("qr-not-issued", "у послуги немає чинного QR-коду"));
        }
        Ok(self.qr_link(service_id, service.qr_version(), &token))
    }

    /// Everything the printable poster of a service's current QR shows.
    pub async fn poster(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<(QrLink, ShareSnapshot), EngineError> {
        let qr = self.current_qr(who, service_id).await?;
        let token = qr.link.rsplit_once("/qr/v1/").map(|(_, t)| t.to_string()).unwrap_or_default();
        let snapshot = self.snapshot_for_token(&token).await.1?;
        Ok((qr, snapshot))
    }

    pub async fn deactivate_service(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<(), EngineError> {
        self.own_service(who, service_id).await?;
        self.services.execute(service_id, ServiceCommand::Deactivate, &Actor::partner_head(&who.head)).await
    }

    pub async fn revoke_qr(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<(), EngineError> {
        self.own_service(who, service_id).await?;
        self.services.execute(service_id, ServiceCommand::RevokeQr, &Actor::partner_head(&who.head)).await
    }

    /// The QR token: the service id, the QR's version and a MAC over both. Unguessable (128-bit
    /// MAC) yet reproducible by the service, so a partner can download its QR again at any time.
    fn qr_token(&self, service_id: Uuid, qr_version: u32) -> String {
        let mut body = service_id.as_bytes().to_vec();
        body.extend_from_slice(&qr_version.to_be_bytes());
        let mac = hmac_sha256(&self.secret, &[b"qr-token\n".as_slice(), &body].concat());
        body.extend_from_slice(&mac[..16]);
        BASE64_URL_SAFE_NO_PAD.encode(body)
    }

    fn qr_link(&self, service_id: Uuid, qr_version: u32, token: &str) -> QrLink {
        let base = self.settings.public_base_url.trim_end_matches('/');
        let code = self.short_code(token);
        QrLink {
            service_id,
            qr_version,
            link: format!("{base}/qr/v1/{token}"),
            short_code: display_short_code(&code),
            short_link: format!("{base}/q/{code}"),
        }
    }

    /// Eight Crockford base32 characters (40 bits) of a MAC over the token.
    fn short_code(&self, token: &str) -> String {
        let mac = hmac_sha256(&self.secret, format!("qr-short-code\n{token}").as_bytes());
        let bits = mac[..5].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        (0..8).rev().map(|i| CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char).collect()
    }

    // ---- the citizen's side ----

    /// Refuses a citizen the registries do not know.
    pub async fn known_citizen(&self, citizen: &Rnokpp) -> Result<(), EngineError> {
        match self.registry.documents_of(citizen).await {
            Ok(_) => Ok(()),
            Err(RegistryError::UnknownCitizen) => Err(EngineError::NotFound("citizen-unknown", "громадянина не знайдено в реєстрах")),
            Err(RegistryError::Unavailable(e)) => Err(EngineError::Unavailable(e)),
        }
    }

    /// The QR token a citizen scanned or typed: the QR's link, the bare token, the short link
    /// or the short code.
    async fn resolve_scanned(&self, scanned: &str) -> Result<String, EngineError> {
        let scanned = scanned.trim().trim_end_matches('/');
        if let Some((_, token)) = scanned.rsplit_once("/qr/v1/") {
            return Ok(token.to_string());
        }
        let typed = scanned.rsplit_once("/q/").map_or(scanned, |(_, code)| code);
        let Some(code) = normalise_short_code(typed) else {
            return Ok(scanned.to_string());
        };
        match diia_qr_projections::cabinet::short_code_target(&self.pool, &code).await? {
            Some((service_id, qr_version)) => Ok(self.qr_token(service_id, qr_version as u32)),
            None => Err(EngineError::rule(&ScanError::UnknownQr)),
        }
    }

    /// What a QR token leads to, checked by every scan rule; the service id when the token names one.
    async fn snapshot_for_token(&self, token: &str) -> (Option<Uuid>, Result<ShareSnapshot, EngineError>) {
        let Some(service_id) =
            BASE64_URL_SAFE_NO_PAD.decode(token).ok().filter(|b| b.len() == 36).and_then(|b| Uuid::from_slice(&b[..16]).ok())
        else {
            return (None, Err(EngineError::rule(&ScanError::UnknownQr)));
        };
        let snapshot = async {
            let service = self.services.load(service_id).await?;
            let (Some(branch_id), Some(partner_id)) = (service.branch_id(), service.partner_id()) else {
                return Err(EngineError::rule(&ScanError::UnknownQr));
            };
            let branch = self.branches.load(branch_id).await?;
            let partner = self.partners.load(partner_id).await?;
            ShareSnapshot::for_scan(&partner, &branch, &service, &token_digest(token)).map_err(|e| EngineError::rule(&e))
        };
        (Some(service_id), snapshot.await)
    }

    /// The full QR link a printed short code stands for.
    pub async fn qr_link_for_short_code(&self, typed: &str) -> Result<String, EngineError> {
        let code = normalise_short_code(typed).ok_or_else(|| EngineError::rule(&ScanError::UnknownQr))?;
        let token = self.resolve_scanned(&code).await?;
        Ok(format!("{}/qr/v1/{token}", self.settings.public_base_url.trim_end_matches('/')))
    }

    /// What a QR shows before anyone scans it in the app: the landing page of its link.
    pub async fn preview_qr(&self, scanned: &str) -> Result<ShareSnapshot, EngineError> {
        let token = self.resolve_scanned(scanned).await?;
        self.snapshot_for_token(&token).await.1
    }

    /// Resolves a scanned QR into a new share request. Refused scans are counted per service and
    /// reason.
    pub async fn scan(&self, citizen: &Rnokpp, scanned: &str) -> Result<Uuid, EngineError> {
        let resolved = self.resolve_scanned(scanned).await;
        let (service_id, snapshot) = match resolved {
            Ok(token) => self.snapshot_for_token(&token).await,
            Err(e) => (None, Err(e)),
        };
        let snapshot = match snapshot {
            Ok(s) => s,
            Err(e) => {
                if let EngineError::Rule { code, .. } = &e {
                    diia_qr_projections::cabinet::count_refused_scan(&self.pool, service_id, code).await;
                }
                return Err(e);
            }
        };
        let share_request_id = Uuid::new_v4();
        let now = Utc::now();
        let command = ShareRequestCommand::Open {
            share_request_id,
            citizen: citizen.clone(),
            snapshot,
            opened_at: now,
            expires_at: now + self.settings.share_ttl,
        };
        self.shares.execute(share_request_id, command, &Actor::citizen(citizen)).await?;
        Ok(share_request_id)
    }

    /// A citizen's own request; someone else's is "not found", never "forbidden".
    pub async fn share_request(&self, citizen: &Rnokpp, id: Uuid) -> Result<ShareRequest, EngineError> {
        let share = self.shares.load(id).await?;
        if share.citizen() != Some(citizen) {
            return Err(EngineError::NotFound("share-not-found", "запит не знайдено"));
        }
        Ok(share)
    }

    async fn citizen_command(&self, citizen: &Rnokpp, id: Uuid, command: ShareRequestCommand) -> Result<(), EngineError> {
        self.share_request(citizen, id).await?;
        self.shares.execute(id, command, &Actor::citizen(citizen)).await
    }

    pub async fn choose_documents(&self, citizen: &Rnokpp, id: Uuid, choices: Vec<DocumentChoice>) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::ChooseDocuments { choices, at: Utc::now() }).await
    }

    pub async fn verify_photo(&self, citizen: &Rnokpp, id: Uuid, photo: Vec<u8>) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::VerifyPhoto { photo, at: Utc::now() }).await
    }

    pub async fn confirm(&self, citizen: &Rnokpp, id: Uuid, code: &str) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::Confirm { code: code.to_string(), at: Utc::now() }).await
    }

    pub async fn send(&self, citizen: &Rnokpp, id: Uuid) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::Send { at: Utc::now() }).await
    }

    pub async fn decline(&self, citizen: &Rnokpp, id: Uuid) -> Result<(), EngineError> {
        self.citizen_command(citizen, id, ShareRequestCommand::Decline { at: Utc::now() }).await
    }

    /// Expires open requests whose time ran out; returns how many. Run periodically.
    pub async fn expire_overdue(&self) -> Result<usize, EngineError> {
        let overdue: Vec<Uuid> = sqlx::query_scalar(
            "SELECT share_request_id FROM share_requests_view
              WHERE status IN ('opened', 'photo_verified', 'consented') AND expires_at <= now() LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut expired = 0;
        for id in overdue {
            match self.shares.execute(id, ShareRequestCommand::Expire { at: Utc::now() }, &Actor::system("expiry")).await {
                Ok(()) => expired += 1,
                // Sent or declined since the view was read: nothing to expire.
                Err(EngineError::Rule { .. } | EngineError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }
}

/// Records delivery outcomes on the ShareRequest aggregate; repeating one is not an error.
pub struct ShareDeliveryOutcomes(pub Arc<Engine>);

#[async_trait::async_trait]
impl DeliveryOutcomes for ShareDeliveryOutcomes {
    async fn delivered(&self, id: Uuid, accepted_at: DateTime<Utc>, message_id: &str) -> Result<(), String> {
        let command = ShareRequestCommand::RecordDelivery { accepted_at, message_id: message_id.to_string() };
        self.record(id, command).await
    }
    async fn failed(&self, id: Uuid, at: DateTime<Utc>, reason: &str) -> Result<(), String> {
        self.record(id, ShareRequestCommand::RecordDeliveryFailure { at, reason: reason.to_string() }).await
    }
}

impl ShareDeliveryOutcomes {
    async fn record(&self, id: Uuid, command: ShareRequestCommand) -> Result<(), String> {
        match self.0.shares.execute(id, command, &Actor::system("delivery")).await {
            Ok(()) | Err(EngineError::Rule { code: "delivery-already-recorded", .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn rule(code: &'static str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Rule { code, diia_code: None, message: e.to_string() }
}

/// The digest of a QR token kept in the Service aggregate: the token itself never is.
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).expect("the OS random source");
    BASE64_URL_SAFE_NO_PAD.encode(buf)
}

/// Shown where a partner's status is asked for.
pub fn status_uk(s: PartnerStatus) -> &'static str {
    match s {
        PartnerStatus::Unregistered => "не зареєстровано",
        PartnerStatus::Onboarding => "реєстрація триває",
        PartnerStatus::Active => "партнер",
        PartnerStatus::Suspended => "призупинено",
    }
}
