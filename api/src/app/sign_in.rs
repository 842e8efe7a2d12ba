//! Development sign-in: it stands for the head's КЕП, the Diia app and the staff's accounts, and
//! issues the sessions the HTTP layer checks. It trusts the submitted identity fields.

use diia_qr_domain::identifiers::{Edrpou, IdentifierError, Rnokpp};
use diia_qr_domain::partner::{Head, PartnerKind};
use uuid::Uuid;

use super::{Engine, EngineError, PartnerIdentity};

/// What the development partner sign-in is told, as the head's certificate would say it.
pub struct DevPartnerSignIn {
    /// `legal_entity` with `edrpou`, or `sole_proprietor` (the head's РНОКПП is the code).
    pub kind: String,
    pub edrpou: Option<String>,
    pub organisation_name: String,
    pub head_rnokpp: String,
    pub head_full_name: String,
}

fn invalid_identifier(e: IdentifierError) -> EngineError {
    EngineError::invalid("identifier-invalid", e)
}

impl Engine {
    /// A partner session and the partner id it acts for.
    pub fn dev_partner_session(&self, sign_in: DevPartnerSignIn) -> Result<(String, Uuid), EngineError> {
        let rnokpp = Rnokpp::parse(&sign_in.head_rnokpp).map_err(invalid_identifier)?;
        let kind = match sign_in.kind.as_str() {
            "legal_entity" => {
                let edrpou = sign_in
                    .edrpou
                    .as_deref()
                    .ok_or_else(|| EngineError::invalid("identifier-invalid", "для юридичної особи потрібен ЄДРПОУ"))?;
                PartnerKind::LegalEntity { edrpou: Edrpou::parse(edrpou).map_err(invalid_identifier)? }
            }
            "sole_proprietor" => PartnerKind::SoleProprietor { rnokpp: rnokpp.clone() },
            other => {
                let message = format!("невідомий вид партнера «{other}»: legal_entity або sole_proprietor");
                return Err(EngineError::invalid("partner-kind-invalid", message));
            }
        };
        let full_name = sign_in.head_full_name.trim().to_string();
        if full_name.is_empty() {
            return Err(EngineError::invalid("head-name-empty", "вкажіть ПІБ керівника"));
        }
        let identity = PartnerIdentity { kind, organisation_name: sign_in.organisation_name, head: Head { rnokpp, full_name } };
        let partner_id = identity.partner_id();
        Ok((self.sessions.partner(identity), partner_id))
    }

    /// A citizen session for anyone the registries know.
    pub async fn dev_citizen_session(&self, rnokpp: &str) -> Result<String, EngineError> {
        let rnokpp = Rnokpp::parse(rnokpp).map_err(invalid_identifier)?;
        self.known_citizen(&rnokpp).await?;
        Ok(self.sessions.citizen(rnokpp))
    }

    /// An operator session.
    pub fn dev_operator_session(&self, name: &str) -> Result<String, EngineError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(EngineError::invalid("operator-name-empty", "вкажіть ім'я оператора"));
        }
        Ok(self.sessions.operator(name.to_string()))
    }
}
