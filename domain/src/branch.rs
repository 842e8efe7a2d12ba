//! The Branch aggregate (відділення): a named place of a partner, with the address citizens see
//! and the mailbox that receives copies — but only once that mailbox is confirmed.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identifiers::{EmailAddress, IdentifierError};
use crate::moderation::{ModerationError, NameReview};
use crate::names::{BranchName, NameError};
use crate::partner::PartnerStatus;
use crate::text::{self, TextError};
use crate::{RuleKind, RuleViolation, EVENT_VERSION};

/// The branch's address, in the fields Diia's partner API uses.
///
/// It is part of the `Created` event, so it ignores unknown fields (a newer writer may add one)
/// and never `deny_unknown_fields`: an HTTP body that wants to refuse extra fields needs its own
/// input type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchAddress {
    pub region: String,
    #[serde(default)]
    pub district: Option<String>,
    pub locality: String,
    pub street: String,
    pub house: String,
}

impl BranchAddress {
    /// Each field's limit in characters: the longest real ones (a hromada's full name, a street
    /// named after a person with titles) fit with room to spare, and a copy's layout holds them.
    pub const MAX_FIELD_CHARS: usize = 120;
    pub const MAX_HOUSE_CHARS: usize = 30;

    fn normalised(self) -> Result<Self, BranchError> {
        let required = |field: &'static str, s: &str, max: usize| match text::line(s, max) {
            Err(TextError::Empty) => Err(BranchError::AddressFieldMissing(field)),
            other => other.map_err(|error| BranchError::AddressField { field, error }),
        };
        let district = text::optional_line(self.district.as_deref(), Self::MAX_FIELD_CHARS)
            .map_err(|error| BranchError::AddressField { field: "district", error })?;
        Ok(Self {
            region: required("region", &self.region, Self::MAX_FIELD_CHARS)?,
            district,
            locality: required("locality", &self.locality, Self::MAX_FIELD_CHARS)?,
            street: required("street", &self.street, Self::MAX_FIELD_CHARS)?,
            house: required("house", &self.house, Self::MAX_HOUSE_CHARS)?,
        })
    }

    /// One line, as printed on copies and posters.
    pub fn one_line(&self) -> String {
        let mut parts = vec![self.region.as_str()];
        if let Some(d) = &self.district {
            parts.push(d);
        }
        parts.extend([self.locality.as_str(), self.street.as_str(), self.house.as_str()]);
        parts.join(", ")
    }
}

/// The confirmation code mailed to a branch's address. Codes are derived from a service secret,
/// so no code is ever stored in the event log.
pub trait EmailConfirmationCodes: Send + Sync {
    fn code_for(&self, branch_id: &str, email: &EmailAddress, nonce: &str) -> String;
}

pub struct BranchServices {
    pub codes: Arc<dyn EmailConfirmationCodes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BranchCommand {
    Create {
        branch_id: Uuid,
        partner_id: Uuid,
        partner_status: PartnerStatus,
        name: String,
        address: BranchAddress,
        email: String,
        /// Random, chosen by the caller; with the secret it determines the confirmation code.
        confirmation_nonce: String,
        at: DateTime<Utc>,
        /// The partner's branches whose mailbox is not confirmed yet, as the caller counted them.
        unconfirmed_branches: u32,
    },
    /// The mailbox's owner types the code from the letter. `renewal_nonce` is the nonce of a new
    /// code, used only if this guess voids the current one.
    ConfirmEmail { code: String, renewal_nonce: String, at: DateTime<Utc> },
    /// A new mailbox, or the same one again for a new code.
    ChangeEmail { email: String, confirmation_nonce: String, at: DateTime<Utc> },
    /// The partner renames the branch: the new name serves at once and waits for moderation.
    Rename { name: String, partner_status: PartnerStatus },
    /// An operator approves the revision of the name they saw.
    ApproveName { revision: u32 },
    /// An operator removes the branch for its name: its services' QR codes stop working, and the
    /// partner is told at `notify` (the profile's address, when it has one).
    RemoveByModeration { revision: u32, reason: String, notify: Option<EmailAddress> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BranchEvent {
    Created {
        branch_id: Uuid,
        partner_id: Uuid,
        name: BranchName,
        address: BranchAddress,
    },
    EmailConfirmationRequested {
        email: EmailAddress,
        nonce: String,
        /// Absent in events recorded before codes expired: such a code never expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_at: Option<DateTime<Utc>>,
    },
    EmailConfirmed {
        email: EmailAddress,
    },
    /// A wrong code was typed for the current letter.
    EmailConfirmationCodeRejected {
        attempts_left: u32,
    },
    /// Too many wrong codes: the current code no longer confirms.
    EmailConfirmationCodeVoided,
    Renamed {
        name: BranchName,
        revision: u32,
    },
    NameApproved {
        revision: u32,
    },
    RemovedByModeration {
        revision: u32,
        name: BranchName,
        reason: String,
        notified: Option<EmailAddress>,
    },
}

impl DomainEvent for BranchEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "BranchCreated",
            Self::EmailConfirmationRequested { .. } => "BranchEmailConfirmationRequested",
            Self::EmailConfirmed { .. } => "BranchEmailConfirmed",
            Self::EmailConfirmationCodeRejected { .. } => "BranchEmailConfirmationCodeRejected",
            Self::EmailConfirmationCodeVoided => "BranchEmailConfirmationCodeVoided",
            Self::Renamed { .. } => "BranchRenamed",
            Self::NameApproved { .. } => "BranchNameApproved",
            Self::RemovedByModeration { .. } => "BranchRemovedByModeration",
        }
        .to_string()
    }
    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BranchError {
    #[error("відділення вже існує")]
    AlreadyExists,
    #[error("відділення не знайдено")]
    NotFound,
    #[error("створювати відділення може лише партнер, що підписав заяву про приєднання")]
    PartnerNotActive(PartnerStatus),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("в адресі не заповнено поле «{0}»")]
    AddressFieldMissing(&'static str),
    #[error("адреса, поле «{field}»: {error}")]
    AddressField { field: &'static str, error: TextError },
    #[error(transparent)]
    Email(#[from] IdentifierError),
    #[error("код підтвердження неправильний; лишилося спроб: {0}")]
    WrongConfirmationCode(u32),
    #[error("забагато неправильних кодів: цей код анульовано, новий надіслано на пошту відділення")]
    ConfirmationCodeVoided,
    #[error("забагато неправильних кодів: цей код анульовано; новий лист можна отримати через добу")]
    ConfirmationLettersExhausted,
    #[error("строк дії коду (доба) минув: попросіть новий лист у кабінеті партнера")]
    ConfirmationCodeExpired,
    #[error("електронну пошту вже підтверджено")]
    EmailAlreadyConfirmed,
    #[error("уже {0} відділень чекають на підтвердження пошти: підтвердьте їх, перш ніж створювати нові")]
    TooManyUnconfirmed(u32),
    #[error("нова назва така сама, як чинна")]
    NameUnchanged,
    #[error("відділення видалено модерацією Дія.QR: створіть нове з належною назвою")]
    RemovedByModeration,
    #[error(transparent)]
    Moderation(#[from] ModerationError),
}

impl RuleViolation for BranchError {
    fn kind(&self) -> RuleKind {
        match self {
            Self::NotFound => RuleKind::NotFound,
            Self::RemovedByModeration | Self::ConfirmationCodeExpired => RuleKind::Gone,
            Self::ConfirmationLettersExhausted | Self::TooManyUnconfirmed(_) => RuleKind::RateLimited,
            Self::AlreadyExists | Self::EmailAlreadyConfirmed | Self::NameUnchanged => RuleKind::Conflict,
            Self::PartnerNotActive(_)
            | Self::Name(_)
            | Self::AddressFieldMissing(_)
            | Self::AddressField { .. }
            | Self::Email(_)
            | Self::WrongConfirmationCode(_)
            | Self::ConfirmationCodeVoided => RuleKind::Invalid,
            Self::Moderation(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "branch-already-exists",
            Self::NotFound => "branch-not-found",
            Self::PartnerNotActive(PartnerStatus::Suspended) => "partner-suspended",
            Self::PartnerNotActive(_) => "onboarding-not-finished",
            Self::Name(NameError::ForbiddenBranchName(_)) => "branch-name-forbidden",
            Self::Name(_) => "branch-name-invalid",
            Self::AddressFieldMissing(_) => "branch-address-incomplete",
            Self::AddressField { .. } => "branch-address-invalid",
            Self::Email(_) => "email-invalid",
            Self::WrongConfirmationCode(_) => "email-confirmation-code-wrong",
            Self::ConfirmationCodeVoided => "email-confirmation-code-voided",
            Self::ConfirmationLettersExhausted => "email-confirmation-letters-exhausted",
            Self::ConfirmationCodeExpired => "email-confirmation-code-expired",
            Self::EmailAlreadyConfirmed => "email-already-confirmed",
            Self::TooManyUnconfirmed(_) => "branch-unconfirmed-limit",
            Self::NameUnchanged => "branch-name-unchanged",
            Self::RemovedByModeration => "branch-removed-by-moderation",
            Self::Moderation(e) => e.code(),
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    branch_id: Option<Uuid>,
    partner_id: Option<Uuid>,
    name: Option<BranchName>,
    address: Option<BranchAddress>,
    email: Option<EmailAddress>,
    pending_nonce: Option<String>,
    email_confirmed: bool,
    #[serde(default)]
    review: NameReview,
    /// When the pending code was mailed (`None`: before codes expired).
    #[serde(default)]
    code_requested_at: Option<DateTime<Utc>>,
    /// Wrong codes typed for the pending code.
    #[serde(default)]
    wrong_codes: u32,
    /// When each confirmation letter went out, for the daily cap.
    #[serde(default)]
    letters_sent_at: Vec<DateTime<Utc>>,
}

/// Branches of one partner that may wait for their mailbox's confirmation at once: each sent a
/// letter to an address nobody has vouched for yet, so a partner cannot use branches as a relay.
pub const MAX_UNCONFIRMED_BRANCHES: u32 = 10;

/// Wrong codes a letter's code survives; the next one voids it.
pub const MAX_WRONG_CODES: u32 = 5;
/// How long a mailed code confirms.
pub const CODE_LIFETIME_HOURS: i64 = 24;
/// Confirmation letters one branch may cause in 24 hours (creation, changes, renewals).
pub const LETTERS_PER_DAY: usize = 5;

impl Branch {
    pub fn exists(&self) -> bool {
        self.branch_id.is_some()
    }
    pub fn partner_id(&self) -> Option<Uuid> {
        self.partner_id
    }
    pub fn name(&self) -> Option<&BranchName> {
        self.name.as_ref()
    }
    pub fn address(&self) -> Option<&BranchAddress> {
        self.address.as_ref()
    }
    /// The mailbox copies go to: only a confirmed one.
    pub fn confirmed_email(&self) -> Option<&EmailAddress> {
        self.email.as_ref().filter(|_| self.email_confirmed)
    }
    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }
    /// The current revision of the name and where its moderation stands.
    pub fn review(&self) -> NameReview {
        self.review
    }
    /// Removed by moderation: its services serve no one.
    pub fn is_removed(&self) -> bool {
        self.review.is_removed()
    }
    /// The nonce of the code now awaiting the mailbox's owner, if one does.
    pub fn pending_code(&self) -> Option<&str> {
        self.pending_nonce.as_deref()
    }
    /// How many more wrong codes the pending code survives.
    pub fn attempts_left(&self) -> u32 {
        MAX_WRONG_CODES.saturating_sub(self.wrong_codes)
    }
    fn letters_since(&self, since: DateTime<Utc>) -> usize {
        self.letters_sent_at.iter().filter(|t| **t > since).count()
    }
}

impl Aggregate for Branch {
    const TYPE: &'static str = "Branch";
    type Command = BranchCommand;
    type Event = BranchEvent;
    type Error = BranchError;
    type Services = BranchServices;

    async fn handle(&mut self, command: BranchCommand, services: &BranchServices, sink: &EventSink<Self>) -> Result<(), BranchError> {
        match command {
            BranchCommand::Create { .. } if self.exists() => Err(BranchError::AlreadyExists),
            BranchCommand::Create {
                branch_id,
                partner_id,
                partner_status,
                name,
                address,
                email,
                confirmation_nonce,
                at,
                unconfirmed_branches,
            } => {
                if partner_status != PartnerStatus::Active {
                    return Err(BranchError::PartnerNotActive(partner_status));
                }
                if unconfirmed_branches >= MAX_UNCONFIRMED_BRANCHES {
                    return Err(BranchError::TooManyUnconfirmed(MAX_UNCONFIRMED_BRANCHES));
                }
                let name = BranchName::parse(&name)?;
                let address = address.normalised()?;
                let email = EmailAddress::parse(&email)?;
                sink.write(BranchEvent::Created { branch_id, partner_id, name, address }, self).await;
                let request = BranchEvent::EmailConfirmationRequested { email, nonce: confirmation_nonce, requested_at: Some(at) };
                sink.write(request, self).await;
                Ok(())
            }
            _ if !self.exists() => Err(BranchError::NotFound),
            _ if self.review.is_removed() => Err(BranchError::RemovedByModeration),
            BranchCommand::ConfirmEmail { .. } if self.email_confirmed => Err(BranchError::EmailAlreadyConfirmed),
            BranchCommand::ConfirmEmail { code, renewal_nonce, at } => {
                let (Some(email), Some(nonce), Some(id)) = (self.email.clone(), &self.pending_nonce, self.branch_id) else {
                    return Err(BranchError::WrongConfirmationCode(0));
                };
                if self.code_requested_at.is_some_and(|t| at > t + Duration::hours(CODE_LIFETIME_HOURS)) {
                    return Err(BranchError::ConfirmationCodeExpired);
                }
                let expected = services.codes.code_for(&id.to_string(), &email, nonce);
                if constant_time_eq(expected.trim().as_bytes(), code.trim().as_bytes()) {
                    sink.write(BranchEvent::EmailConfirmed { email }, self).await;
                    return Ok(());
                }
                // A wrong code is recorded (so the count survives everything), not refused: the
                // caller reads the outcome from the state it leaves.
                let attempts_left = self.attempts_left().saturating_sub(1);
                sink.write(BranchEvent::EmailConfirmationCodeRejected { attempts_left }, self).await;
                if attempts_left == 0 {
                    sink.write(BranchEvent::EmailConfirmationCodeVoided, self).await;
                    if self.letters_since(at - Duration::hours(24)) < LETTERS_PER_DAY {
                        let renewal = BranchEvent::EmailConfirmationRequested { email, nonce: renewal_nonce, requested_at: Some(at) };
                        sink.write(renewal, self).await;
                    }
                }
                Ok(())
            }
            BranchCommand::ChangeEmail { email, confirmation_nonce, at } => {
                let email = EmailAddress::parse(&email)?;
                if self.letters_since(at - Duration::hours(24)) >= LETTERS_PER_DAY {
                    return Err(BranchError::ConfirmationLettersExhausted);
                }
                sink.write(BranchEvent::EmailConfirmationRequested { email, nonce: confirmation_nonce, requested_at: Some(at) }, self)
                    .await;
                Ok(())
            }
            BranchCommand::Rename { name, partner_status } => {
                if partner_status != PartnerStatus::Active {
                    return Err(BranchError::PartnerNotActive(partner_status));
                }
                let name = BranchName::parse(&name)?;
                if self.name.as_ref() == Some(&name) {
                    return Err(BranchError::NameUnchanged);
                }
                let revision = self.review.next_revision();
                sink.write(BranchEvent::Renamed { name, revision }, self).await;
                Ok(())
            }
            BranchCommand::ApproveName { revision } => {
                self.review.check_approval(revision)?;
                sink.write(BranchEvent::NameApproved { revision }, self).await;
                Ok(())
            }
            BranchCommand::RemoveByModeration { revision, reason, notify } => {
                let reason = self.review.check_removal(revision, &reason)?;
                let name = self.name.clone().ok_or(BranchError::NotFound)?;
                sink.write(BranchEvent::RemovedByModeration { revision, name, reason, notified: notify }, self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: BranchEvent) {
        match event {
            BranchEvent::Created { branch_id, partner_id, name, address } => {
                self.branch_id = Some(branch_id);
                self.partner_id = Some(partner_id);
                self.name = Some(name);
                self.address = Some(address);
                self.review.submitted(1);
            }
            BranchEvent::EmailConfirmationRequested { email, nonce, requested_at } => {
                self.email = Some(email);
                self.pending_nonce = Some(nonce);
                self.email_confirmed = false;
                self.code_requested_at = requested_at;
                self.wrong_codes = 0;
                if let Some(at) = requested_at {
                    // Only the last day's letters count; older ones are dropped as new ones come.
                    self.letters_sent_at.retain(|t| *t > at - Duration::hours(24));
                    self.letters_sent_at.push(at);
                }
            }
            BranchEvent::EmailConfirmed { .. } => {
                self.pending_nonce = None;
                self.email_confirmed = true;
            }
            BranchEvent::EmailConfirmationCodeRejected { .. } => self.wrong_codes += 1,
            BranchEvent::EmailConfirmationCodeVoided => self.pending_nonce = None,
            BranchEvent::Renamed { name, revision } => {
                self.name = Some(name);
                self.review.submitted(revision);
            }
            BranchEvent::NameApproved { .. } => self.review.approved(),
            BranchEvent::RemovedByModeration { .. } => self.review.removed(),
        }
    }
}

/// Compares codes without leaking, through timing, how many leading characters matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::moderation::ModerationState;
    use cqrs_es::test::TestFramework;

    pub struct FixedCodes;
    impl EmailConfirmationCodes for FixedCodes {
        fn code_for(&self, _: &str, email: &EmailAddress, nonce: &str) -> String {
            format!("{}-{nonce}", email.as_str().len())
        }
    }

    pub fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }
    fn confirm(code: &str) -> BranchCommand {
        confirm_at(code, t0() + Duration::minutes(5))
    }
    fn confirm_at(code: &str, at: DateTime<Utc>) -> BranchCommand {
        BranchCommand::ConfirmEmail { code: code.into(), renewal_nonce: "r1".into(), at }
    }

    pub fn branch_id() -> Uuid {
        Uuid::from_u128(0xb1)
    }
    pub fn partner_id() -> Uuid {
        Uuid::from_u128(0xa1)
    }
    pub fn address() -> BranchAddress {
        BranchAddress {
            region: "Тернопільська область".into(),
            district: None,
            locality: "м. Тернопіль".into(),
            street: "вул. Руська".into(),
            house: "12".into(),
        }
    }
    fn create(partner_status: PartnerStatus, name: &str) -> BranchCommand {
        BranchCommand::Create {
            branch_id: branch_id(),
            partner_id: partner_id(),
            partner_status,
            name: name.into(),
            address: address(),
            email: "desk@palazzo.ua".into(),
            confirmation_nonce: "n1".into(),
            at: t0(),
            unconfirmed_branches: 0,
        }
    }
    pub fn created() -> Vec<BranchEvent> {
        vec![
            BranchEvent::Created {
                branch_id: branch_id(),
                partner_id: partner_id(),
                name: BranchName::parse("Готель «Палаццо»").unwrap(),
                address: address(),
            },
            BranchEvent::EmailConfirmationRequested {
                email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
                nonce: "n1".into(),
                requested_at: Some(t0()),
            },
        ]
    }
    pub fn confirmed() -> Vec<BranchEvent> {
        let mut events = created();
        events.push(BranchEvent::EmailConfirmed { email: EmailAddress::parse("desk@palazzo.ua").unwrap() });
        events
    }
    fn branch() -> TestFramework<Branch> {
        TestFramework::with(BranchServices { codes: Arc::new(FixedCodes) })
    }

    fn change_email(email: &str) -> BranchCommand {
        BranchCommand::ChangeEmail { email: email.into(), confirmation_nonce: "n2".into(), at: t0() }
    }

    // Create

    #[tokio::test]
    async fn an_active_partner_creates_a_branch_and_its_mailbox_awaits_confirmation() {
        branch()
            .given_no_previous_events()
            .when_async(create(PartnerStatus::Active, "Готель «Палаццо»"))
            .await
            .then_expect_events(created());
    }

    #[tokio::test]
    async fn a_branch_is_created_once() {
        branch()
            .given(created())
            .when_async(create(PartnerStatus::Active, "Готель «Палаццо»"))
            .await
            .then_expect_error(BranchError::AlreadyExists);
    }

    #[tokio::test]
    async fn no_branch_before_the_accession_application_is_signed() {
        for status in [PartnerStatus::Unregistered, PartnerStatus::Onboarding, PartnerStatus::Suspended] {
            branch()
                .given_no_previous_events()
                .when_async(create(status, "Готель «Палаццо»"))
                .await
                .then_expect_error(BranchError::PartnerNotActive(status));
        }
    }

    #[tokio::test]
    async fn forbidden_names_are_refused_with_the_name_quoted() {
        branch()
            .given_no_previous_events()
            .when_async(create(PartnerStatus::Active, "Дiя  готель"))
            .await
            .then_expect_error(BranchError::Name(NameError::ForbiddenBranchName("Дiя готель".into())));
    }

    #[tokio::test]
    async fn a_blank_or_overlong_branch_name_is_refused() {
        branch()
            .given_no_previous_events()
            .when_async(create(PartnerStatus::Active, "   "))
            .await
            .then_expect_error(BranchError::Name(NameError::Empty));
        branch()
            .given_no_previous_events()
            .when_async(create(PartnerStatus::Active, &"Г".repeat(201)))
            .await
            .then_expect_error(BranchError::Name(NameError::TooLong(201, BranchName::MAX_CHARS)));
    }

    #[tokio::test]
    async fn a_partner_with_ten_unconfirmed_branches_creates_no_more() {
        let mut cmd = create(PartnerStatus::Active, "Готель «Палаццо»");
        if let BranchCommand::Create { unconfirmed_branches, .. } = &mut cmd {
            *unconfirmed_branches = MAX_UNCONFIRMED_BRANCHES;
        }
        branch()
            .given_no_previous_events()
            .when_async(cmd)
            .await
            .then_expect_error(BranchError::TooManyUnconfirmed(MAX_UNCONFIRMED_BRANCHES));
    }

    #[tokio::test]
    async fn an_incomplete_address_is_refused() {
        for field in ["region", "locality", "street", "house"] {
            let mut cmd = create(PartnerStatus::Active, "Готель «Палаццо»");
            if let BranchCommand::Create { address, .. } = &mut cmd {
                let blank = match field {
                    "region" => &mut address.region,
                    "locality" => &mut address.locality,
                    "street" => &mut address.street,
                    _ => &mut address.house,
                };
                *blank = "  ".into();
            }
            branch().given_no_previous_events().when_async(cmd).await.then_expect_error(BranchError::AddressFieldMissing(field));
        }
    }

    #[tokio::test]
    async fn the_address_is_stored_tidied_and_a_blank_district_is_dropped() {
        let mut cmd = create(PartnerStatus::Active, "Готель «Палаццо»");
        if let BranchCommand::Create { address, .. } = &mut cmd {
            address.region = " Тернопільська   область ".into();
            address.district = Some("  ".into());
        }
        branch().given_no_previous_events().when_async(cmd).await.then_expect_events(created());
    }

    #[tokio::test]
    async fn a_branch_with_an_invalid_mailbox_is_refused() {
        let mut cmd = create(PartnerStatus::Active, "Готель «Палаццо»");
        if let BranchCommand::Create { email, .. } = &mut cmd {
            *email = " desk@palazzo ".into();
        }
        branch()
            .given_no_previous_events()
            .when_async(cmd)
            .await
            .then_expect_error(BranchError::Email(IdentifierError::Email("desk@palazzo".into())));
    }

    // ConfirmEmail

    #[tokio::test]
    async fn the_mailbox_is_confirmed_only_with_the_right_code() {
        branch()
            .given(created())
            .when_async(confirm("nope"))
            .await
            .then_expect_events(vec![BranchEvent::EmailConfirmationCodeRejected { attempts_left: 4 }]);
        branch().given(created()).when_async(confirm("15-n1")).await.then_expect_events(vec![confirmed()[2].clone()]);
        branch().given(confirmed()).when_async(confirm("15-n1")).await.then_expect_error(BranchError::EmailAlreadyConfirmed);
    }

    #[tokio::test]
    async fn a_confirmation_code_typed_with_spaces_around_it_still_confirms() {
        branch().given(created()).when_async(confirm(" 15-n1 ")).await.then_expect_events(vec![confirmed()[2].clone()]);
    }

    #[tokio::test]
    async fn no_code_confirms_a_mailbox_that_was_never_asked_for() {
        branch().given(created()[..1].to_vec()).when_async(confirm("15-n1")).await.then_expect_error(BranchError::WrongConfirmationCode(0));
    }

    #[tokio::test]
    async fn an_unknown_branch_can_neither_confirm_nor_change_its_mailbox() {
        branch().given_no_previous_events().when_async(confirm("15-n1")).await.then_expect_error(BranchError::NotFound);
        branch().given_no_previous_events().when_async(change_email("new@palazzo.ua")).await.then_expect_error(BranchError::NotFound);
    }

    fn after_wrong_codes(n: u32) -> Vec<BranchEvent> {
        let mut events = created();
        events.extend((1..=n).map(|i| BranchEvent::EmailConfirmationCodeRejected { attempts_left: MAX_WRONG_CODES - i }));
        events
    }

    #[tokio::test]
    async fn the_fifth_wrong_code_voids_the_code_and_mails_a_new_one_which_confirms() {
        let renewal = BranchEvent::EmailConfirmationRequested {
            email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            nonce: "r1".into(),
            requested_at: Some(t0() + Duration::minutes(5)),
        };
        branch().given(after_wrong_codes(4)).when_async(confirm("nope")).await.then_expect_events(vec![
            BranchEvent::EmailConfirmationCodeRejected { attempts_left: 0 },
            BranchEvent::EmailConfirmationCodeVoided,
            renewal.clone(),
        ]);
        let mut voided = after_wrong_codes(5);
        voided.extend([BranchEvent::EmailConfirmationCodeVoided, renewal]);
        let b = state_after(voided.clone());
        assert_eq!((b.pending_code(), b.attempts_left()), (Some("r1"), MAX_WRONG_CODES), "the new code has its own attempts");
        // The right code of the voided letter no longer confirms; the new letter's does.
        branch()
            .given(voided.clone())
            .when_async(confirm("15-n1"))
            .await
            .then_expect_events(vec![BranchEvent::EmailConfirmationCodeRejected { attempts_left: 4 }]);
        branch()
            .given(voided)
            .when_async(confirm("15-r1"))
            .await
            .then_expect_events(vec![BranchEvent::EmailConfirmed { email: EmailAddress::parse("desk@palazzo.ua").unwrap() }]);
    }

    #[tokio::test]
    async fn a_branch_causes_at_most_five_confirmation_letters_a_day() {
        let mut events = created();
        for i in 2..=5 {
            events.push(BranchEvent::EmailConfirmationRequested {
                email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
                nonce: format!("n{i}"),
                requested_at: Some(t0() + Duration::minutes(i)),
            });
        }
        branch()
            .given(events.clone())
            .when_async(change_email("new@palazzo.ua"))
            .await
            .then_expect_error(BranchError::ConfirmationLettersExhausted);
        // Voided on the fifth wrong code, no new letter comes today: the guesser gets no more tries.
        events.extend((1..=4).map(|i| BranchEvent::EmailConfirmationCodeRejected { attempts_left: MAX_WRONG_CODES - i }));
        branch().given(events.clone()).when_async(confirm("nope")).await.then_expect_events(vec![
            BranchEvent::EmailConfirmationCodeRejected { attempts_left: 0 },
            BranchEvent::EmailConfirmationCodeVoided,
        ]);
        events.extend([BranchEvent::EmailConfirmationCodeRejected { attempts_left: 0 }, BranchEvent::EmailConfirmationCodeVoided]);
        branch().given(events.clone()).when_async(confirm("15-n5")).await.then_expect_error(BranchError::WrongConfirmationCode(0));
        // A day after the first letters, the partner may ask again.
        let next_day =
            BranchCommand::ChangeEmail { email: "desk@palazzo.ua".into(), confirmation_nonce: "n6".into(), at: t0() + Duration::hours(25) };
        branch().given(events).when_async(next_day).await.then_expect_events(vec![BranchEvent::EmailConfirmationRequested {
            email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            nonce: "n6".into(),
            requested_at: Some(t0() + Duration::hours(25)),
        }]);
    }

    #[tokio::test]
    async fn a_code_confirms_for_a_day_and_one_recorded_before_expiry_existed_always_does() {
        branch()
            .given(created())
            .when_async(confirm_at("15-n1", t0() + Duration::hours(CODE_LIFETIME_HOURS) + Duration::seconds(1)))
            .await
            .then_expect_error(BranchError::ConfirmationCodeExpired);
        let mut old = created();
        old[1] = BranchEvent::EmailConfirmationRequested {
            email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            nonce: "n1".into(),
            requested_at: None,
        };
        branch()
            .given(old)
            .when_async(confirm_at("15-n1", t0() + Duration::days(400)))
            .await
            .then_expect_events(vec![BranchEvent::EmailConfirmed { email: EmailAddress::parse("desk@palazzo.ua").unwrap() }]);
    }

    // ChangeEmail

    #[tokio::test]
    async fn changing_the_mailbox_needs_a_new_confirmation() {
        branch().given(confirmed()).when_async(change_email(" new@Palazzo.UA ")).await.then_expect_events(vec![
            BranchEvent::EmailConfirmationRequested {
                email: EmailAddress::parse("new@palazzo.ua").unwrap(),
                nonce: "n2".into(),
                requested_at: Some(t0()),
            },
        ]);
        let mut b = Branch::default();
        for e in confirmed() {
            b.apply(e);
        }
        assert!(b.confirmed_email().is_some());
        b.apply(BranchEvent::EmailConfirmationRequested {
            email: EmailAddress::parse("new@palazzo.ua").unwrap(),
            nonce: "n2".into(),
            requested_at: Some(t0()),
        });
        assert_eq!(b.confirmed_email(), None);
    }

    #[tokio::test]
    async fn a_changed_mailbox_is_confirmed_with_its_new_code_not_the_old_one() {
        let mut changed = confirmed();
        changed.push(BranchEvent::EmailConfirmationRequested {
            email: EmailAddress::parse("new@palazzo.ua").unwrap(),
            nonce: "n2".into(),
            requested_at: Some(t0()),
        });
        branch()
            .given(changed.clone())
            .when_async(confirm("15-n1"))
            .await
            .then_expect_events(vec![BranchEvent::EmailConfirmationCodeRejected { attempts_left: 4 }]);
        branch()
            .given(changed)
            .when_async(confirm("14-n2"))
            .await
            .then_expect_events(vec![BranchEvent::EmailConfirmed { email: EmailAddress::parse("new@palazzo.ua").unwrap() }]);
    }

    #[tokio::test]
    async fn an_invalid_new_mailbox_is_refused() {
        branch()
            .given(confirmed())
            .when_async(change_email("new at palazzo.ua"))
            .await
            .then_expect_error(BranchError::Email(IdentifierError::Email("new at palazzo.ua".into())));
    }

    // Rename and moderation

    fn rename(name: &str) -> BranchCommand {
        BranchCommand::Rename { name: name.into(), partner_status: PartnerStatus::Active }
    }
    fn renamed(name: &str, revision: u32) -> BranchEvent {
        BranchEvent::Renamed { name: BranchName::parse(name).unwrap(), revision }
    }
    fn removal(revision: u32, reason: &str) -> BranchCommand {
        BranchCommand::RemoveByModeration { revision, reason: reason.into(), notify: Some(EmailAddress::parse("head@palazzo.ua").unwrap()) }
    }
    fn removed(revision: u32, name: &str, reason: &str) -> BranchEvent {
        BranchEvent::RemovedByModeration {
            revision,
            name: BranchName::parse(name).unwrap(),
            reason: reason.into(),
            notified: Some(EmailAddress::parse("head@palazzo.ua").unwrap()),
        }
    }
    fn state_after(events: Vec<BranchEvent>) -> Branch {
        let mut b = Branch::default();
        events.into_iter().for_each(|e| b.apply(e));
        b
    }

    #[tokio::test]
    async fn a_new_branch_name_waits_for_an_operator_as_revision_one() {
        let b = state_after(created());
        assert_eq!((b.review().revision(), b.review().state()), (1, ModerationState::Pending));
        branch()
            .given(created())
            .when_async(BranchCommand::ApproveName { revision: 1 })
            .await
            .then_expect_events(vec![BranchEvent::NameApproved { revision: 1 }]);
    }

    #[tokio::test]
    async fn a_rename_is_checked_by_the_rules_and_waits_again_as_a_new_revision() {
        let mut approved = created();
        approved.push(BranchEvent::NameApproved { revision: 1 });
        branch()
            .given(approved.clone())
            .when_async(rename("  Готель «Палаццо Люкс» "))
            .await
            .then_expect_events(vec![renamed("Готель «Палаццо Люкс»", 2)]);
        branch()
            .given(approved.clone())
            .when_async(rename("Дія готель"))
            .await
            .then_expect_error(BranchError::Name(NameError::ForbiddenBranchName("Дія готель".into())));
        branch().given(approved.clone()).when_async(rename("Готель «Палаццо»")).await.then_expect_error(BranchError::NameUnchanged);
        branch()
            .given(approved)
            .when_async(BranchCommand::Rename { name: "Готель «Нова»".into(), partner_status: PartnerStatus::Suspended })
            .await
            .then_expect_error(BranchError::PartnerNotActive(PartnerStatus::Suspended));
    }

    #[tokio::test]
    async fn an_operator_cannot_approve_a_revision_that_a_rename_replaced() {
        let mut events = created();
        events.push(renamed("Готель «Палаццо Люкс»", 2));
        branch()
            .given(events.clone())
            .when_async(BranchCommand::ApproveName { revision: 1 })
            .await
            .then_expect_error(BranchError::Moderation(ModerationError::StaleRevision { current: 2 }));
        branch()
            .given(events)
            .when_async(removal(1, "бренд"))
            .await
            .then_expect_error(BranchError::Moderation(ModerationError::StaleRevision { current: 2 }));
    }

    #[tokio::test]
    async fn a_removal_records_the_name_the_reason_and_whom_it_told() {
        branch().given(confirmed()).when_async(removal(1, " Назва вводить в оману ")).await.then_expect_events(vec![removed(
            1,
            "Готель «Палаццо»",
            "Назва вводить в оману",
        )]);
        branch()
            .given(confirmed())
            .when_async(removal(1, "  "))
            .await
            .then_expect_error(BranchError::Moderation(ModerationError::ReasonMissing));
    }

    #[tokio::test]
    async fn a_removed_branch_takes_no_more_commands() {
        let mut events = confirmed();
        events.push(removed(1, "Готель «Палаццо»", "бренд"));
        assert!(state_after(events.clone()).is_removed());
        for cmd in [rename("Готель «Нова»"), change_email("new@palazzo.ua"), BranchCommand::ApproveName { revision: 1 }, removal(1, "ще")]
        {
            branch().given(events.clone()).when_async(cmd).await.then_expect_error(BranchError::RemovedByModeration);
        }
    }

    // Stored events

    #[tokio::test]
    async fn a_branch_recorded_under_older_rules_still_loads_and_confirms_its_mailbox() {
        // "Дія" is a forbidden branch name today and "desk@palazzo" lacks a dotted domain.
        assert!(BranchName::parse("Дія").is_err() && EmailAddress::parse("desk@palazzo").is_err());
        let stored = serde_json::json!([
            {"Created": {
                "branch_id": branch_id(),
                "partner_id": partner_id(),
                "name": "Дія",
                "address": {"region": "Тернопільська область", "district": null, "locality": "м. Тернопіль", "street": "вул. Руська", "house": "12"}
            }},
            {"EmailConfirmationRequested": {"email": "desk@palazzo", "nonce": "n1"}}
        ]);
        let events: Vec<BranchEvent> = serde_json::from_value(stored).expect("stored events load whatever today's rules say");
        let mut b = Branch::default();
        events.iter().cloned().for_each(|e| b.apply(e));
        assert_eq!(b.name().map(BranchName::as_str), Some("Дія"));
        assert_eq!(b.email().map(EmailAddress::as_str), Some("desk@palazzo"));
        let email: EmailAddress = serde_json::from_value(serde_json::json!("desk@palazzo")).unwrap();
        branch().given(events).when_async(confirm("12-n1")).await.then_expect_events(vec![BranchEvent::EmailConfirmed { email }]);
    }

    #[test]
    fn a_stored_branch_event_with_fields_this_version_does_not_know_still_loads() {
        let stored = serde_json::json!({"Created": {
            "branch_id": branch_id(),
            "partner_id": partner_id(),
            "name": "Готель «Палаццо»",
            "address": {"region": "Тернопільська область", "locality": "м. Тернопіль", "street": "вул. Руська", "house": "12", "floor": "2"},
            "opening_hours": "цілодобово"
        }});
        let event: BranchEvent = serde_json::from_value(stored).unwrap();
        assert_eq!(event, created()[0]);
    }
}
