//! The Partner aggregate: an organisation or sole proprietor (ФОП) that becomes a Diia.QR
//! partner in order: registration with the head's КЕП, profile, public offer, accession
//! application signed by the head. Only then may it create branches.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::identifiers::{Edrpou, EmailAddress, PhoneNumber, Rnokpp};
use crate::text::{self, TextError};
use crate::{RuleKind, RuleViolation, EVENT_VERSION};

/// Who the partner is, in law.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PartnerKind {
    LegalEntity { edrpou: Edrpou },
    SoleProprietor { rnokpp: Rnokpp },
}

impl PartnerKind {
    /// The code that identifies the partner in state registers (ЄДРПОУ, or РНОКПП of a ФОП).
    pub fn registry_code(&self) -> &str {
        match self {
            Self::LegalEntity { edrpou } => edrpou.as_str(),
            Self::SoleProprietor { rnokpp } => rnokpp.as_str(),
        }
    }
}

/// The head of the legal entity (or the ФОП themself), whose КЕП signs for the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub rnokpp: Rnokpp,
    pub full_name: String,
}

/// The head's profile, filled at first sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub email: EmailAddress,
    pub phone: PhoneNumber,
    /// Series and number of a booklet passport (АБ123456) or an ID card's 9-digit number.
    pub passport: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferAcceptance {
    pub version: String,
    pub sha256: String,
    /// When it was accepted (absent in events recorded before it was kept): the accession
    /// application is dated by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The signed accession application, kept in the log as evidence an auditor can check with
/// `openssl cms -verify` years later: the PDF the head signed and the detached CMS signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedApplication {
    pub pdf_base64: String,
    pub signature_base64: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartnerCommand {
    Register {
        kind: PartnerKind,
        organisation_name: String,
        head: Head,
    },
    FillProfile {
        profile: Profile,
    },
    AcceptOffer {
        offer: OfferAcceptance,
    },
    /// The accession application (заява про приєднання), signed with the head's КЕП (the
    /// application layer has verified the signature).
    SignAccessionApplication {
        signer: Rnokpp,
        application_sha256: String,
        evidence: SignedApplication,
    },
    Suspend {
        reason: String,
    },
    Reinstate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartnerEvent {
    Registered {
        kind: PartnerKind,
        organisation_name: String,
        head: Head,
    },
    ProfileFilled {
        profile: Profile,
    },
    OfferAccepted {
        offer: OfferAcceptance,
    },
    AccessionApplicationSigned {
        signer: Rnokpp,
        application_sha256: String,
        /// Absent in events recorded before signatures were verified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<SignedApplication>,
    },
    Suspended {
        reason: String,
    },
    Reinstated,
}

impl DomainEvent for PartnerEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Registered { .. } => "PartnerRegistered",
            Self::ProfileFilled { .. } => "PartnerProfileFilled",
            Self::OfferAccepted { .. } => "PartnerOfferAccepted",
            Self::AccessionApplicationSigned { .. } => "PartnerAccessionApplicationSigned",
            Self::Suspended { .. } => "PartnerSuspended",
            Self::Reinstated => "PartnerReinstated",
        }
        .to_string()
    }
    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnerError {
    #[error("організацію вже зареєстровано в Дія.QR")]
    AlreadyRegistered,
    #[error("організацію ще не зареєстровано в Дія.QR")]
    NotRegistered,
    #[error("назва організації не може бути порожньою")]
    EmptyOrganisationName,
    #[error("«{0}» не схоже на серію і номер паспорта (АБ123456 або 9 цифр ID-картки)")]
    PassportFormat(String),
    #[error("спершу заповніть профіль: електронну пошту, телефон і паспортні дані")]
    ProfileRequired,
    #[error("спершу ознайомтеся з публічною офертою і прийміть її")]
    OfferNotAccepted,
    #[error("заяву про приєднання вже підписано")]
    AlreadyPartner,
    #[error("заяву про приєднання має підписати керівник організації своїм КЕП")]
    SignerIsNotHead,
    #[error("організація ще не стала партнером: підпишіть заяву про приєднання")]
    NotYetPartner,
    #[error("діяльність партнера призупинено")]
    Suspended,
    #[error("партнера не призупинено")]
    NotSuspended,
    #[error("причина призупинення: {0}")]
    SuspensionReason(TextError),
}

/// A suspension's reason is shown to the partner in its cabinet.
pub const MAX_SUSPENSION_REASON_CHARS: usize = 500;

impl RuleViolation for PartnerError {
    fn kind(&self) -> RuleKind {
        match self {
            Self::AlreadyRegistered | Self::AlreadyPartner => RuleKind::Conflict,
            Self::NotRegistered
            | Self::EmptyOrganisationName
            | Self::PassportFormat(_)
            | Self::ProfileRequired
            | Self::OfferNotAccepted
            | Self::SignerIsNotHead
            | Self::NotYetPartner
            | Self::Suspended
            | Self::NotSuspended
            | Self::SuspensionReason(_) => RuleKind::Invalid,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyRegistered => "partner-already-registered",
            Self::NotRegistered => "partner-not-registered",
            Self::EmptyOrganisationName => "organisation-name-empty",
            Self::PassportFormat(_) => "passport-format",
            Self::ProfileRequired => "onboarding-profile-required",
            Self::OfferNotAccepted => "onboarding-offer-not-accepted",
            Self::AlreadyPartner => "onboarding-already-signed",
            Self::SignerIsNotHead => "onboarding-signer-is-not-head",
            Self::NotYetPartner => "onboarding-not-finished",
            Self::Suspended => "partner-suspended",
            Self::NotSuspended => "partner-not-suspended",
            Self::SuspensionReason(_) => "suspension-reason-invalid",
        }
    }
}

/// Where a partner stands, as other aggregates need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    Unregistered,
    Onboarding,
    Active,
    Suspended,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    kind: Option<PartnerKind>,
    organisation_name: String,
    head: Option<Head>,
    profile: Option<Profile>,
    offer: Option<OfferAcceptance>,
    signed: bool,
    suspended: bool,
}

impl Partner {
    pub fn status(&self) -> PartnerStatus {
        match (self.kind.is_some(), self.signed, self.suspended) {
            (false, _, _) => PartnerStatus::Unregistered,
            (true, _, true) => PartnerStatus::Suspended,
            (true, false, false) => PartnerStatus::Onboarding,
            (true, true, false) => PartnerStatus::Active,
        }
    }
    pub fn organisation_name(&self) -> &str {
        &self.organisation_name
    }
    pub fn kind(&self) -> Option<&PartnerKind> {
        self.kind.as_ref()
    }
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }
    pub fn offer(&self) -> Option<&OfferAcceptance> {
        self.offer.as_ref()
    }

    /// A partner may run branches and services only once active.
    pub fn ensure_active(&self) -> Result<(), PartnerError> {
        match self.status() {
            PartnerStatus::Unregistered => Err(PartnerError::NotRegistered),
            PartnerStatus::Onboarding => Err(PartnerError::NotYetPartner),
            PartnerStatus::Suspended => Err(PartnerError::Suspended),
            PartnerStatus::Active => Ok(()),
        }
    }
}

fn check_passport(raw: &str) -> Result<(), PartnerError> {
    let p: Vec<char> = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let id_card = p.len() == 9 && p.iter().all(char::is_ascii_digit);
    let booklet = p.len() == 8
        && p[..2].iter().all(|c| ('А'..='Я').contains(c) || matches!(c, 'Є' | 'І' | 'Ї' | 'Ґ'))
        && p[2..].iter().all(char::is_ascii_digit);
    if id_card || booklet {
        Ok(())
    } else {
        Err(PartnerError::PassportFormat(raw.to_string()))
    }
}

impl Aggregate for Partner {
    const TYPE: &'static str = "Partner";
    type Command = PartnerCommand;
    type Event = PartnerEvent;
    type Error = PartnerError;
    type Services = ();

    async fn handle(&mut self, command: PartnerCommand, _: &(), sink: &EventSink<Self>) -> Result<(), PartnerError> {
        use PartnerCommand as C;
        use PartnerEvent as E;
        let registered = self.kind.is_some();
        let event = match command {
            C::Register { .. } if registered => return Err(PartnerError::AlreadyRegistered),
            C::Register { kind, organisation_name, head } => {
                let organisation_name = organisation_name.split_whitespace().collect::<Vec<_>>().join(" ");
                if organisation_name.is_empty() {
                    return Err(PartnerError::EmptyOrganisationName);
                }
                E::Registered { kind, organisation_name, head }
            }
            _ if !registered => return Err(PartnerError::NotRegistered),
            C::FillProfile { profile } => {
                check_passport(&profile.passport)?;
                E::ProfileFilled { profile }
            }
            C::AcceptOffer { .. } if self.profile.is_none() => return Err(PartnerError::ProfileRequired),
            C::AcceptOffer { offer } => E::OfferAccepted { offer },
            C::SignAccessionApplication { .. } if self.signed => return Err(PartnerError::AlreadyPartner),
            C::SignAccessionApplication { .. } if self.profile.is_none() => return Err(PartnerError::ProfileRequired),
            C::SignAccessionApplication { .. } if self.offer.is_none() => return Err(PartnerError::OfferNotAccepted),
            C::SignAccessionApplication { signer, .. } if self.head.as_ref().map(|h| &h.rnokpp) != Some(&signer) => {
                return Err(PartnerError::SignerIsNotHead)
            }
            C::SignAccessionApplication { signer, application_sha256, evidence } => {
                E::AccessionApplicationSigned { signer, application_sha256, evidence: Some(evidence) }
            }
            C::Suspend { .. } if self.suspended => return Err(PartnerError::Suspended),
            C::Suspend { reason } => {
                E::Suspended { reason: text::line(&reason, MAX_SUSPENSION_REASON_CHARS).map_err(PartnerError::SuspensionReason)? }
            }
            C::Reinstate if !self.suspended => return Err(PartnerError::NotSuspended),
            C::Reinstate => E::Reinstated,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: PartnerEvent) {
        match event {
            PartnerEvent::Registered { kind, organisation_name, head } => {
                self.kind = Some(kind);
                self.organisation_name = organisation_name;
                self.head = Some(head);
            }
            PartnerEvent::ProfileFilled { profile } => self.profile = Some(profile),
            PartnerEvent::OfferAccepted { offer } => self.offer = Some(offer),
            PartnerEvent::AccessionApplicationSigned { .. } => self.signed = true,
            PartnerEvent::Suspended { .. } => self.suspended = true,
            PartnerEvent::Reinstated => self.suspended = false,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    pub fn head() -> Head {
        Head {
            rnokpp: Rnokpp::with_check_digit("321456789").unwrap(), full_name: "Ґенрієтта Олексіївна Мар'яненко".into()
        }
    }
    pub fn registered() -> PartnerEvent {
        PartnerEvent::Registered {
            kind: PartnerKind::LegalEntity { edrpou: Edrpou::parse("14360570").unwrap() },
            organisation_name: "ТОВ «Готель „Палаццо“»".into(),
            head: head(),
        }
    }
    pub fn profile() -> Profile {
        Profile {
            email: EmailAddress::parse("head@palazzo.ua").unwrap(),
            phone: PhoneNumber::parse("0671234567").unwrap(),
            passport: "123456789".into(),
        }
    }
    fn evidence() -> SignedApplication {
        SignedApplication { pdf_base64: "JVBERi0=".into(), signature_base64: "MIIB".into() }
    }
    fn offer() -> OfferAcceptance {
        OfferAcceptance { version: "2024-01".into(), sha256: "ab".repeat(32), accepted_at: None }
    }
    /// The events of a partner that finished onboarding.
    pub fn active_partner() -> Vec<PartnerEvent> {
        vec![
            registered(),
            PartnerEvent::ProfileFilled { profile: profile() },
            PartnerEvent::OfferAccepted { offer: offer() },
            PartnerEvent::AccessionApplicationSigned {
                signer: head().rnokpp,
                application_sha256: "cd".repeat(32),
                evidence: Some(evidence()),
            },
        ]
    }
    fn sign(signer: Rnokpp) -> PartnerCommand {
        PartnerCommand::SignAccessionApplication { signer, application_sha256: "cd".repeat(32), evidence: evidence() }
    }
    fn partner() -> TestFramework<Partner> {
        TestFramework::with(())
    }

    fn register(organisation_name: &str) -> PartnerCommand {
        let PartnerEvent::Registered { kind, head, .. } = registered() else { unreachable!() };
        PartnerCommand::Register { kind, organisation_name: organisation_name.into(), head }
    }
    fn suspended_partner() -> Vec<PartnerEvent> {
        let mut events = active_partner();
        events.push(PartnerEvent::Suspended { reason: "перевірка".into() });
        events
    }

    // Register

    #[tokio::test]
    async fn registration_happens_once() {
        let PartnerEvent::Registered { kind, organisation_name, head } = registered() else { unreachable!() };
        let register = PartnerCommand::Register { kind, organisation_name, head };
        partner().given_no_previous_events().when_async(register.clone()).await.then_expect_events(vec![registered()]);
        partner().given(vec![registered()]).when_async(register).await.then_expect_error(PartnerError::AlreadyRegistered);
    }

    #[tokio::test]
    async fn the_organisation_name_is_registered_with_its_spacing_tidied() {
        partner()
            .given_no_previous_events()
            .when_async(register("  ТОВ   «Готель „Палаццо“»\n"))
            .await
            .then_expect_events(vec![registered()]);
    }

    #[tokio::test]
    async fn a_blank_organisation_name_is_refused() {
        partner().given_no_previous_events().when_async(register(" \t ")).await.then_expect_error(PartnerError::EmptyOrganisationName);
    }

    // FillProfile

    #[tokio::test]
    async fn nothing_before_registration_and_a_passport_must_look_like_one() {
        partner()
            .given_no_previous_events()
            .when_async(PartnerCommand::FillProfile { profile: profile() })
            .await
            .then_expect_error(PartnerError::NotRegistered);
        let mut bad = profile();
        bad.passport = "12AB".into();
        partner()
            .given(vec![registered()])
            .when_async(PartnerCommand::FillProfile { profile: bad })
            .await
            .then_expect_error(PartnerError::PassportFormat("12AB".into()));
        let mut booklet = profile();
        booklet.passport = "ЄІ 123456".into();
        partner()
            .given(vec![registered()])
            .when_async(PartnerCommand::FillProfile { profile: booklet.clone() })
            .await
            .then_expect_events(vec![PartnerEvent::ProfileFilled { profile: booklet }]);
    }

    #[tokio::test]
    async fn a_registered_partner_fills_its_profile_with_an_id_card_number() {
        partner()
            .given(vec![registered()])
            .when_async(PartnerCommand::FillProfile { profile: profile() })
            .await
            .then_expect_events(vec![PartnerEvent::ProfileFilled { profile: profile() }]);
    }

    // AcceptOffer and SignAccessionApplication

    #[tokio::test]
    async fn onboarding_goes_profile_then_offer_then_signed_application() {
        partner()
            .given(vec![registered()])
            .when_async(PartnerCommand::AcceptOffer { offer: offer() })
            .await
            .then_expect_error(PartnerError::ProfileRequired);
        partner()
            .given(vec![registered(), PartnerEvent::ProfileFilled { profile: profile() }])
            .when_async(sign(head().rnokpp))
            .await
            .then_expect_error(PartnerError::OfferNotAccepted);
        partner()
            .given(vec![registered(), PartnerEvent::ProfileFilled { profile: profile() }])
            .when_async(PartnerCommand::AcceptOffer { offer: offer() })
            .await
            .then_expect_events(vec![PartnerEvent::OfferAccepted { offer: offer() }]);
        partner()
            .given(active_partner()[..3].to_vec())
            .when_async(sign(head().rnokpp))
            .await
            .then_expect_events(vec![active_partner()[3].clone()]);
        partner().given(active_partner()).when_async(sign(head().rnokpp)).await.then_expect_error(PartnerError::AlreadyPartner);
    }

    #[tokio::test]
    async fn the_application_cannot_be_signed_before_the_profile_is_filled() {
        partner().given(vec![registered()]).when_async(sign(head().rnokpp)).await.then_expect_error(PartnerError::ProfileRequired);
    }

    #[tokio::test]
    async fn only_the_head_signs_the_application() {
        partner()
            .given(active_partner()[..3].to_vec())
            .when_async(sign(Rnokpp::with_check_digit("298765432").unwrap()))
            .await
            .then_expect_error(PartnerError::SignerIsNotHead);
    }

    #[tokio::test]
    async fn an_unregistered_organisation_can_neither_accept_the_offer_nor_sign() {
        partner()
            .given_no_previous_events()
            .when_async(PartnerCommand::AcceptOffer { offer: offer() })
            .await
            .then_expect_error(PartnerError::NotRegistered);
        partner().given_no_previous_events().when_async(sign(head().rnokpp)).await.then_expect_error(PartnerError::NotRegistered);
    }

    // Suspend and Reinstate

    #[tokio::test]
    async fn an_active_partner_is_suspended() {
        partner()
            .given(active_partner())
            .when_async(PartnerCommand::Suspend { reason: "перевірка".into() })
            .await
            .then_expect_events(vec![PartnerEvent::Suspended { reason: "перевірка".into() }]);
    }

    #[tokio::test]
    async fn a_suspended_partner_cannot_be_suspended_again() {
        partner()
            .given(suspended_partner())
            .when_async(PartnerCommand::Suspend { reason: "ще раз".into() })
            .await
            .then_expect_error(PartnerError::Suspended);
    }

    #[tokio::test]
    async fn an_unregistered_organisation_cannot_be_suspended_or_reinstated() {
        partner()
            .given_no_previous_events()
            .when_async(PartnerCommand::Suspend { reason: "перевірка".into() })
            .await
            .then_expect_error(PartnerError::NotRegistered);
        partner().given_no_previous_events().when_async(PartnerCommand::Reinstate).await.then_expect_error(PartnerError::NotRegistered);
    }

    #[tokio::test]
    async fn a_suspended_partner_is_reinstated() {
        partner().given(suspended_partner()).when_async(PartnerCommand::Reinstate).await.then_expect_events(vec![PartnerEvent::Reinstated]);
    }

    #[tokio::test]
    async fn a_partner_that_is_not_suspended_cannot_be_reinstated() {
        partner().given(active_partner()).when_async(PartnerCommand::Reinstate).await.then_expect_error(PartnerError::NotSuspended);
        let mut reinstated = suspended_partner();
        reinstated.push(PartnerEvent::Reinstated);
        partner().given(reinstated).when_async(PartnerCommand::Reinstate).await.then_expect_error(PartnerError::NotSuspended);
    }

    #[test]
    fn status_follows_onboarding_and_suspension() {
        let mut p = Partner::default();
        assert_eq!(p.ensure_active(), Err(PartnerError::NotRegistered));
        for e in active_partner()[..3].to_vec() {
            p.apply(e);
        }
        assert_eq!(p.ensure_active(), Err(PartnerError::NotYetPartner));
        p.apply(active_partner()[3].clone());
        assert_eq!(p.ensure_active(), Ok(()));
        p.apply(PartnerEvent::Suspended { reason: "перевірка".into() });
        assert_eq!(p.ensure_active(), Err(PartnerError::Suspended));
        p.apply(PartnerEvent::Reinstated);
        assert_eq!(p.ensure_active(), Ok(()));
    }

    // Stored events

    /// Events recorded under older, looser rules: a ЄДРПОУ and РНОКПП with wrong check digits, an
    /// e-mail without a dotted domain and a short phone number. `parse` refuses each today.
    fn events_recorded_under_older_rules() -> Vec<PartnerEvent> {
        let stored = serde_json::json!([
            {"Registered": {
                "kind": {"kind": "legal_entity", "edrpou": "14360571"},
                "organisation_name": "ТОВ «Стара назва»",
                "head": {"rnokpp": "3214567890", "full_name": "Ґенрієтта Олексіївна Мар'яненко"}
            }},
            {"ProfileFilled": {"profile": {"email": "head@localhost", "phone": "12345", "passport": "123456789"}}},
            {"OfferAccepted": {"offer": {"version": "2024-01", "sha256": "ab"}}},
            {"AccessionApplicationSigned": {"signer": "3214567890", "application_sha256": "cd"}}
        ]);
        assert!(Edrpou::parse("14360571").is_err() && Rnokpp::parse("3214567890").is_err());
        assert!(EmailAddress::parse("head@localhost").is_err() && PhoneNumber::parse("12345").is_err());
        serde_json::from_value(stored).expect("stored events load whatever today's rules say")
    }

    #[tokio::test]
    async fn a_partner_registered_under_older_rules_still_loads_and_acts() {
        let events = events_recorded_under_older_rules();
        let PartnerEvent::Registered { head, .. } = &events[0] else { panic!("{events:?}") };
        assert_eq!(head.rnokpp.as_str(), "3214567890", "the stored value is kept as it was");
        let mut p = Partner::default();
        events.iter().cloned().for_each(|e| p.apply(e));
        assert_eq!(p.status(), PartnerStatus::Active);
        partner()
            .given(events)
            .when_async(PartnerCommand::Suspend { reason: "перевірка".into() })
            .await
            .then_expect_events(vec![PartnerEvent::Suspended { reason: "перевірка".into() }]);
    }

    #[test]
    fn a_stored_partner_event_with_a_field_this_version_does_not_know_still_loads() {
        let stored = serde_json::json!({"Suspended": {"reason": "перевірка", "suspended_by": "оператор", "until": null}});
        let event: PartnerEvent = serde_json::from_value(stored).unwrap();
        assert_eq!(event, PartnerEvent::Suspended { reason: "перевірка".into() });
        let stored = serde_json::json!({"ProfileFilled": {"profile": {
            "email": "head@palazzo.ua", "phone": "+380671234567", "passport": "123456789", "telegram": "@head"
        }}});
        let event: PartnerEvent = serde_json::from_value(stored).unwrap();
        assert_eq!(event, PartnerEvent::ProfileFilled { profile: profile() });
    }

    #[test]
    fn partner_events_serialise_to_the_shape_already_stored() {
        let json = serde_json::to_value(registered()).unwrap();
        assert_eq!(json["Registered"]["kind"], serde_json::json!({"kind": "legal_entity", "edrpou": "14360570"}));
        assert_eq!(json["Registered"]["head"]["rnokpp"], serde_json::json!(head().rnokpp.as_str()));
    }
}
