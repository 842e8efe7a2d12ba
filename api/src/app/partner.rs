//! The partner's use cases: onboarding, branches (and the mailbox owner's confirmation),
//! services, QR codes with their printable forms, and the cabinet's queries.

use std::collections::BTreeMap;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::{DateTime, Utc};
use diia_qr_domain::branch::{BranchAddress, BranchCommand, BranchError};
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::identifiers::{EmailAddress, PhoneNumber};
use diia_qr_domain::partner::{OfferAcceptance, Partner, PartnerCommand, PartnerError, PartnerKind, Profile, SignedApplication};
use diia_qr_domain::service::{BranchStanding, LegalBasis, Service, ServiceCommand};
use diia_qr_domain::share_request::ShareSnapshot;
use diia_qr_projections::counters;
use diia_qr_projections::digest::sha256_hex;
use diia_qr_projections::documents::accession::{render_accession_application, AccessionDetails};
use diia_qr_projections::documents::poster::{self, PosterContent};
use diia_qr_projections::documents::qr;
use diia_qr_projections::views::cabinet::{self, BranchRow, ServiceRow, ShareRow};
use serde::Serialize;
use uuid::Uuid;

use super::offer::{offer_sha256, OFFER_VERSION};
use super::qr_tokens::{token_digest, QrLink};
use super::sign_in::KepRefusal;
use super::store::Actor;
use super::{Engine, EngineError, PartnerIdentity};

/// The service's current QR and how many scans of it were refused, by reason.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurrentQr {
    #[serde(flatten)]
    pub qr: QrLink,
    pub refused_scans: BTreeMap<String, i64>,
}

/// A file made for download: its media type and bytes.
pub struct Rendered {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

fn rendering_failed(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("не вдалося сформувати файл: {e}"))
}

/// What the printable poster of a QR shows: the scan's snapshot and the QR's links.
fn poster_content<'a>(qr: &'a QrLink, snapshot: &'a ShareSnapshot) -> PosterContent<'a> {
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

impl Engine {
    // ---- onboarding ----

    pub async fn register_partner(&self, who: &PartnerIdentity) -> Result<Uuid, EngineError> {
        let id = who.partner_id();
        let command =
            PartnerCommand::Register { kind: who.kind.clone(), organisation_name: who.organisation_name.clone(), head: who.head.clone() };
        self.partners.execute(id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await?;
        Ok(id)
    }

    pub async fn partner(&self, who: &PartnerIdentity) -> Result<Partner, EngineError> {
        self.partners.load(who.partner_id()).await
    }

    pub async fn fill_profile(&self, who: &PartnerIdentity, email: &str, phone: &str, passport: &str) -> Result<(), EngineError> {
        let email = EmailAddress::parse(email).map_err(|e| EngineError::invalid("email-invalid", e))?;
        let phone = PhoneNumber::parse(phone).map_err(|e| EngineError::invalid("phone-invalid", e))?;
        let profile = Profile { email, phone, passport: passport.trim().to_string() };
        self.partner_command(who, PartnerCommand::FillProfile { profile }).await
    }

    pub async fn accept_offer(&self, who: &PartnerIdentity, version: &str, sha256: &str) -> Result<(), EngineError> {
        if version != OFFER_VERSION || !sha256.eq_ignore_ascii_case(&offer_sha256()) {
            let message = format!("чинна редакція оферти — {OFFER_VERSION}; ознайомтеся з нею і прийміть саме її");
            return Err(EngineError::invalid("offer-outdated", message));
        }
        let offer = OfferAcceptance { version: version.to_string(), sha256: offer_sha256(), accepted_at: Some(self.clock.now()) };
        self.partner_command(who, PartnerCommand::AcceptOffer { offer }).await
    }

    /// The accession application this partner's head is to sign, as PDF: rendered from the
    /// partner's registration, profile and accepted offer, the same bytes every time.
    pub async fn accession_application_pdf(&self, who: &PartnerIdentity) -> Result<Vec<u8>, EngineError> {
        let partner = self.partner(who).await?;
        let (profile, offer) = match (partner.profile(), partner.offer()) {
            (None, _) => return Err(EngineError::rule(&PartnerError::ProfileRequired)),
            (_, None) => return Err(EngineError::rule(&PartnerError::OfferNotAccepted)),
            (Some(profile), Some(offer)) => (profile, offer),
        };
        let head = partner.head().unwrap_or(&who.head);
        let kind = partner.kind().unwrap_or(&who.kind);
        let details = AccessionDetails {
            partner_id: who.partner_id(),
            organisation_name: partner.organisation_name(),
            partner_kind: match kind {
                PartnerKind::LegalEntity { .. } => "юридична особа",
                PartnerKind::SoleProprietor { .. } => "фізична особа — підприємець",
            },
            registry_code: kind.registry_code(),
            head_full_name: &head.full_name,
            head_rnokpp: head.rnokpp.as_str(),
            email: profile.email.as_str(),
            phone: profile.phone.as_str(),
            offer_version: &offer.version,
            offer_sha256: &offer.sha256,
            offer_accepted_at: offer.accepted_at,
        };
        render_accession_application(&details).map_err(|e| EngineError::Internal(format!("заява про приєднання: {e}")))
    }

    /// The head's КЕП signature over the accession application makes the partner a partner: it
    /// must be a valid КЕП (as at sign-in) of the head, issued for this organisation, over the
    /// exact bytes of [`Self::accession_application_pdf`]. The PDF and the signature go into the
    /// log as evidence.
    pub async fn sign_accession_application(&self, who: &PartnerIdentity, signature_base64: &str) -> Result<(), EngineError> {
        let now = self.clock.now();
        let signature = BASE64_STANDARD
            .decode(signature_base64.trim())
            .map_err(|_| EngineError::invalid("kep-signature-not-base64", "підпис має бути в base64 (DER CMS)"))?;
        let pdf = self.accession_application_pdf(who).await?;
        let partner = self.partner(who).await?;
        // No lower bound on the signing time: the signature covers the exact application (with
        // the offer's hash and the partner's details), so an early signature cannot be replayed
        // onto anything else, and the engine's clock need not agree with the signer's.
        let window = (DateTime::UNIX_EPOCH, now + chrono::Duration::minutes(2));
        let kep = self.check_kep(signature.clone(), pdf.to_vec(), window, now).await.map_err(KepRefusal::signing_document)?;
        let head = partner.head().unwrap_or(&who.head);
        if kep.identity.rnokpp != head.rnokpp.as_str() {
            let message = format!("заяву підписав не керівник: сертифікат КЕП належить {}", kep.identity.full_name);
            return Err(EngineError::invalid("application-signer-not-head", message));
        }
        if let Some(PartnerKind::LegalEntity { edrpou }) = partner.kind() {
            if kep.identity.edrpou.as_deref() != Some(edrpou.as_str()) {
                let message = format!("сертифікат КЕП керівника видано не для організації з кодом {edrpou}");
                return Err(EngineError::invalid("application-signer-other-organisation", message));
            }
        }
        let evidence = SignedApplication { pdf_base64: BASE64_STANDARD.encode(&pdf), signature_base64: BASE64_STANDARD.encode(&signature) };
        let command =
            PartnerCommand::SignAccessionApplication { signer: head.rnokpp.clone(), application_sha256: sha256_hex(&pdf), evidence };
        self.partner_command(who, command).await
    }

    async fn partner_command(&self, who: &PartnerIdentity, command: PartnerCommand) -> Result<(), EngineError> {
        self.partners.execute(who.partner_id(), command, &Actor::head_of(who.partner_id()), self.clock.now()).await
    }

    // ---- branches ----

    pub async fn create_branch(&self, who: &PartnerIdentity, name: &str, address: BranchAddress, email: &str) -> Result<Uuid, EngineError> {
        let partner = self.partner(who).await?;
        // The count comes from the view, so branches created in the last moment may not be in
        // it yet: the cap can be passed by the few in flight, never by a flood over time.
        let unconfirmed = counters::unconfirmed_branches_of(&self.pool, who.partner_id()).await?;
        let reserved_at = self.reserve_confirmation_letter(who).await?;
        let branch_id = Uuid::new_v4();
        let command = BranchCommand::Create {
            branch_id,
            partner_id: who.partner_id(),
            partner_status: partner.status(),
            name: name.to_string(),
            address,
            email: email.to_string(),
            confirmation_nonce: random_token(16),
            at: self.clock.now(),
            unconfirmed_branches: u32::try_from(unconfirmed).unwrap_or(u32::MAX),
        };
        let created = self.branches.execute(branch_id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await;
        if created.is_err() {
            counters::release_partner_letter(&self.pool, who.partner_id(), reserved_at).await;
        }
        created.map(|()| branch_id)
    }

    /// One of the partner's confirmation letters for today (Kyiv), or a 429: creating branches
    /// and changing their mailboxes sends letters to addresses nobody vouched for yet, so a
    /// partner causes at most `partner_letters_per_day` of them a day. A command that is then
    /// refused gives its letter back. Returns the moment the letter was counted at.
    async fn reserve_confirmation_letter(&self, who: &PartnerIdentity) -> Result<DateTime<Utc>, EngineError> {
        let (limit, now) = (self.settings.partner_letters_per_day, self.clock.now());
        if counters::reserve_partner_letter(&self.pool, who.partner_id(), now, limit).await? {
            Ok(now)
        } else {
            Err(EngineError::rate_limited(
                "partner-letters-exhausted",
                format!("сьогодні ви вже надіслали {limit} листів для підтвердження пошти: продовжіть завтра"),
            ))
        }
    }

    /// A new mailbox for a branch: copies stop until it is confirmed.
    pub async fn change_branch_email(&self, who: &PartnerIdentity, branch_id: Uuid, email: &str) -> Result<(), EngineError> {
        let branch = self.branches.load(branch_id).await?;
        if branch.partner_id() != Some(who.partner_id()) {
            return Err(EngineError::not_found("branch-not-found", "відділення не знайдено"));
        }
        let reserved_at = self.reserve_confirmation_letter(who).await?;
        let command = BranchCommand::ChangeEmail { email: email.to_string(), confirmation_nonce: random_token(16), at: self.clock.now() };
        let changed = self.branches.execute(branch_id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await;
        if changed.is_err() {
            counters::release_partner_letter(&self.pool, who.partner_id(), reserved_at).await;
        }
        changed
    }

    /// Confirms a branch's mailbox with the code mailed to it; whoever reads that mailbox may.
    /// A wrong code is recorded on the branch (its fifth voids the code, and a new letter goes
    /// out while the day's letters last), then answered from the state it left.
    pub async fn confirm_branch_email(&self, branch_id: Uuid, code: &str) -> Result<(), EngineError> {
        // Longer than any code: wrong without a look.
        let code: String = code.chars().take(64).collect();
        let command = BranchCommand::ConfirmEmail { code, renewal_nonce: random_token(16), at: self.clock.now() };
        let before = self.branches.load(branch_id).await?;
        self.branches.execute(branch_id, command, &Actor::mailbox_of(branch_id), self.clock.now()).await?;
        let after = self.branches.load(branch_id).await?;
        if after.confirmed_email().is_some() {
            return Ok(());
        }
        let refusal = match after.pending_code() {
            None => BranchError::ConfirmationLettersExhausted,
            Some(nonce) if Some(nonce) != before.pending_code() => BranchError::ConfirmationCodeVoided,
            Some(_) => BranchError::WrongConfirmationCode(after.attempts_left()),
        };
        Err(EngineError::rule(&refusal))
    }

    /// Renames one of the partner's branches: the new name serves at once and waits for an operator.
    pub async fn rename_branch(&self, who: &PartnerIdentity, branch_id: Uuid, name: &str) -> Result<(), EngineError> {
        let branch = self.branches.load(branch_id).await?;
        if branch.partner_id() != Some(who.partner_id()) {
            return Err(EngineError::not_found("branch-not-found", "відділення не знайдено"));
        }
        let partner_status = self.partner(who).await?.status();
        let command = BranchCommand::Rename { name: name.to_string(), partner_status };
        self.branches.execute(branch_id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await
    }

    /// Renames one of the partner's services: the new names serve at once and wait for an operator.
    pub async fn rename_service(&self, who: &PartnerIdentity, service_id: Uuid, names: &str) -> Result<(), EngineError> {
        self.own_service(who, service_id).await?;
        let partner_status = self.partner(who).await?.status();
        let command = ServiceCommand::Rename { names: names.to_string(), partner_status };
        self.services.execute(service_id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await
    }

    async fn branch_standing(&self, who: &PartnerIdentity, branch_id: Uuid) -> Result<BranchStanding, EngineError> {
        let partner = self.partner(who).await?;
        let branch = self.branches.load(branch_id).await?;
        Ok(BranchStanding {
            branch_exists: branch.exists(),
            branch_partner_id: branch.partner_id(),
            email_confirmed: branch.confirmed_email().is_some(),
            partner_status: partner.status(),
            branch_removed: branch.is_removed(),
        })
    }

    pub async fn branches_of(&self, who: &PartnerIdentity) -> Result<Vec<BranchRow>, EngineError> {
        Ok(cabinet::branches_of(&self.pool, who.partner_id()).await?)
    }

    // ---- services and their QR codes ----

    pub async fn create_service(&self, who: &PartnerIdentity, service: NewService) -> Result<Uuid, EngineError> {
        let branch = self.branch_standing(who, service.branch_id).await?;
        let service_id = Uuid::new_v4();
        let command = ServiceCommand::Create {
            service_id,
            partner_id: who.partner_id(),
            branch_id: service.branch_id,
            branch,
            names: service.names,
            documents: service.documents,
            legal_basis: service.legal_basis,
            retention_days: service.retention_days,
        };
        self.services.execute(service_id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await?;
        Ok(service_id)
    }

    pub async fn services_of(&self, who: &PartnerIdentity) -> Result<Vec<ServiceRow>, EngineError> {
        Ok(cabinet::services_of(&self.pool, who.partner_id()).await?)
    }

    async fn own_service(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<Service, EngineError> {
        let service = self.services.load(service_id).await?;
        if service.partner_id() != Some(who.partner_id()) {
            return Err(EngineError::not_found("service-not-found", "послугу не знайдено"));
        }
        Ok(service)
    }

    /// Issues the service's QR, or rotates it: the previous link stops working.
    pub async fn issue_qr(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<QrLink, EngineError> {
        let service = self.own_service(who, service_id).await?;
        let branch_id = service.branch_id().ok_or_else(|| EngineError::not_found("service-not-found", "послугу не знайдено"))?;
        let branch = self.branch_standing(who, branch_id).await?;
        let qr_version = service.qr_version() + 1;
        let token = self.qr_tokens.token(service_id, qr_version);
        let short_code = self.claim_short_code(service_id, qr_version, &token).await?;
        let command = ServiceCommand::IssueQr { branch, token_digest: token_digest(&token), short_code: short_code.clone() };
        self.services.execute(service_id, command, &Actor::head_of(who.partner_id()), self.clock.now()).await?;
        Ok(self.qr_tokens.qr_link(service_id, qr_version, &token, &short_code))
    }

    /// A short code no other QR holds, claimed for this one in `qr_short_code_claims` (its
    /// primary key decides between two issuers at once). A claim left by a command that then
    /// failed names a version never issued: its scans are refused like a forged QR's.
    async fn claim_short_code(&self, service_id: Uuid, qr_version: u32, token: &str) -> Result<String, EngineError> {
        const CANDIDATES: u32 = 16;
        for attempt in 0..CANDIDATES {
            let code = self.qr_tokens.short_code_candidate(token, attempt);
            let holder: Option<(Uuid, i32)> = sqlx::query_as(
                "WITH claimed AS (INSERT INTO qr_short_code_claims (short_code, service_id, qr_version) VALUES ($1, $2, $3)
                                  ON CONFLICT (short_code) DO NOTHING RETURNING service_id, qr_version)
                 SELECT service_id, qr_version FROM claimed
                 UNION ALL SELECT service_id, qr_version FROM qr_short_code_claims WHERE short_code = $1
                 LIMIT 1",
            )
            .bind(&code)
            .bind(service_id)
            .bind(qr_version as i32)
            .fetch_optional(&self.pool)
            .await?;
            // None: another issuer claimed it a moment ago, past this statement's snapshot.
            if holder == Some((service_id, qr_version as i32)) {
                return Ok(code);
            }
            tracing::warn!(attempt, "a short code clashed with another QR's: taking the next candidate");
        }
        Err(EngineError::Internal(format!("{CANDIDATES} short codes in a row clashed")))
    }

    /// The service's current QR link, for downloading the QR again.
    pub async fn current_qr(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<QrLink, EngineError> {
        let service = self.own_service(who, service_id).await?;
        let token = self.qr_tokens.token(service_id, service.qr_version());
        if service.qr_version() == 0 || service.check_qr_token(&token_digest(&token)).is_err() {
            return Err(EngineError::not_found("qr-not-issued", "у послуги немає чинного QR-коду"));
        }
        // Issued before codes were stored with the QR: the first candidate, as then.
        let code =
            Some(service.qr_short_code()).filter(|c| !c.is_empty()).map_or_else(|| self.qr_tokens.short_code(&token), str::to_string);
        Ok(self.qr_tokens.qr_link(service_id, service.qr_version(), &token, &code))
    }

    /// The current QR with the counts of refused scans, for the cabinet.
    pub async fn current_qr_with_refusals(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<CurrentQr, EngineError> {
        let qr = self.current_qr(who, service_id).await?;
        let refused_scans = counters::refused_scans_of(&self.pool, service_id).await?.into_iter().collect();
        Ok(CurrentQr { qr, refused_scans })
    }

    /// The QR alone as SVG.
    pub async fn qr_svg(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<Rendered, EngineError> {
        let qr = self.current_qr(who, service_id).await?;
        let svg = qr::qr_svg(&qr.link).map_err(rendering_failed)?;
        Ok(Rendered { content_type: "image/svg+xml", bytes: svg.into_bytes() })
    }

    /// The QR alone as PNG, `scale` pixels per module (1 to 40).
    pub async fn qr_png(&self, who: &PartnerIdentity, service_id: Uuid, scale: usize) -> Result<Rendered, EngineError> {
        let qr = self.current_qr(who, service_id).await?;
        let png = qr::qr_png(&qr.link, scale.clamp(1, 40)).map_err(rendering_failed)?;
        Ok(Rendered { content_type: "image/png", bytes: png })
    }

    /// Everything the printable poster of a service's current QR shows.
    async fn poster(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<(QrLink, ShareSnapshot), EngineError> {
        let qr = self.current_qr(who, service_id).await?;
        let token = self.qr_tokens.token(service_id, qr.qr_version);
        let snapshot = self.snapshot_for_token(&token).await.1?;
        Ok((qr, snapshot))
    }

    /// The A4 poster as PDF, rendered off the async executor: it is CPU work.
    pub async fn poster_pdf(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<Rendered, EngineError> {
        let (qr, snapshot) = self.poster(who, service_id).await?;
        let created = self.clock.now();
        let pdf = tokio::task::spawn_blocking(move || poster::poster_pdf(&poster_content(&qr, &snapshot), created))
            .await
            .map_err(rendering_failed)?
            .map_err(rendering_failed)?;
        Ok(Rendered { content_type: "application/pdf", bytes: pdf })
    }

    pub async fn poster_svg(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<Rendered, EngineError> {
        let (qr, snapshot) = self.poster(who, service_id).await?;
        let svg = poster::poster_svg(&poster_content(&qr, &snapshot)).map_err(rendering_failed)?;
        Ok(Rendered { content_type: "image/svg+xml", bytes: svg.into_bytes() })
    }

    pub async fn deactivate_service(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<(), EngineError> {
        self.own_service(who, service_id).await?;
        self.services.execute(service_id, ServiceCommand::Deactivate, &Actor::head_of(who.partner_id()), self.clock.now()).await
    }

    pub async fn revoke_qr(&self, who: &PartnerIdentity, service_id: Uuid) -> Result<(), EngineError> {
        self.own_service(who, service_id).await?;
        self.services.execute(service_id, ServiceCommand::RevokeQr, &Actor::head_of(who.partner_id()), self.clock.now()).await
    }

    // ---- what was received ----

    /// The latest shares the partner received (at most 200).
    pub async fn shares_received(&self, who: &PartnerIdentity) -> Result<Vec<ShareRow>, EngineError> {
        Ok(cabinet::shares_received_by(&self.pool, who.partner_id(), 200).await?)
    }
}

/// A service as the partner describes it.
pub struct NewService {
    pub branch_id: Uuid,
    /// One or more purposes separated by commas.
    pub names: String,
    pub documents: Vec<DocumentType>,
    pub legal_basis: LegalBasis,
    pub retention_days: u32,
}

/// A random URL-safe token of `bytes` bytes of entropy.
fn random_token(bytes: usize) -> String {
    use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).expect("the OS random source");
    BASE64_URL_SAFE_NO_PAD.encode(buf)
}
