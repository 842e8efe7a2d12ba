//! Who a partner is, as its head's sign-in says, and the partner id derived from its registry code.

use diia_qr_domain::partner::{Head, PartnerKind};
use uuid::Uuid;

/// Fixed namespace for partner ids derived from their registry codes.
const PARTNER_NAMESPACE: Uuid = Uuid::from_u128(0x6469_6961_2d71_5f70_6172_746e_6572_7331);

/// One partner per ЄДРПОУ (or per РНОКПП of a sole proprietor), whoever signs in for it.
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
