//! The documents a citizen can share, and what a state registry holds of them.
//!
//! # Adding a document type
//!
//! Add the variant to [`DocumentType`] and to [`DocumentType::ALL`], and its entry in
//! [`DocumentType::descriptor`] (code, titles, photo, kind of card); then give some citizen in
//! `demo.rs` a document of the type, its fields marked with their [`FieldKind`]. Nothing else
//! changes: copies, codes and titles all read the descriptor. Only a new kind of card (a new
//! [`CardKind`] variant) needs drawing in `projections/src/documents/copies.rs`, where the
//! compiler points to the `match` on the card kind; a [`CardKind::Headline`] of a new field kind
//! is drawn at the default size unless `headline_size` there says otherwise.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A document type, by the code Diia's partner API uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentType {
    InternalPassport,
    ForeignPassport,
    TaxpayerCard,
    BirthCertificate,
    ReferenceInternallyDisplacedPerson,
    DriverLicense,
    VehicleLicense,
    StudentIdCard,
}

impl DocumentType {
    /// Every document type: a new variant must be added here too.
    pub const ALL: [DocumentType; 8] = [
        Self::InternalPassport,
        Self::ForeignPassport,
        Self::TaxpayerCard,
        Self::BirthCertificate,
        Self::ReferenceInternallyDisplacedPerson,
        Self::DriverLicense,
        Self::VehicleLicense,
        Self::StudentIdCard,
    ];

    /// Everything the engine knows about this type: the one place to describe a type.
    pub const fn descriptor(self) -> &'static DocumentDescriptor {
        match self {
            Self::InternalPassport => &DocumentDescriptor {
                code: "internal-passport",
                title_uk: "Паспорт громадянина України (ID-картка)",
                title_en: "Passport of a citizen of Ukraine (ID card)",
                has_photo: true,
                card: CardKind::Plain,
            },
            Self::ForeignPassport => &DocumentDescriptor {
                code: "foreign-passport",
                title_uk: "Паспорт громадянина України для виїзду за кордон",
                title_en: "Passport for travelling abroad",
                has_photo: true,
                card: CardKind::Plain,
            },
            Self::TaxpayerCard => &DocumentDescriptor {
                code: "taxpayer-card",
                title_uk: "Картка платника податків (РНОКПП)",
                title_en: "Taxpayer card (RNOKPP)",
                has_photo: false,
                card: CardKind::Headline(FieldKind::TaxpayerNumber),
            },
            Self::BirthCertificate => &DocumentDescriptor {
                code: "birth-certificate",
                title_uk: "Свідоцтво про народження дитини",
                title_en: "Child's birth certificate",
                has_photo: false,
                card: CardKind::ChildAndParents,
            },
            Self::ReferenceInternallyDisplacedPerson => &DocumentDescriptor {
                code: "reference-internally-displaced-person",
                title_uk: "Довідка про взяття на облік внутрішньо переміщеної особи",
                title_en: "IDP registration certificate",
                has_photo: false,
                card: CardKind::TwoAddresses,
            },
            Self::DriverLicense => &DocumentDescriptor {
                code: "driver-license",
                title_uk: "Посвідчення водія",
                title_en: "Driver's licence",
                has_photo: true,
                card: CardKind::Headline(FieldKind::Categories),
            },
            Self::VehicleLicense => &DocumentDescriptor {
                code: "vehicle-license",
                title_uk: "Свідоцтво про реєстрацію транспортного засобу",
                title_en: "Vehicle registration certificate",
                has_photo: false,
                card: CardKind::NumberPlate,
            },
            Self::StudentIdCard => &DocumentDescriptor {
                code: "student-id-card",
                title_uk: "Студентський квиток",
                title_en: "Student ID card",
                has_photo: true,
                card: CardKind::Plain,
            },
        }
    }

    /// The code Diia's partner API uses for this type (also its serde name).
    pub fn code(self) -> &'static str {
        self.descriptor().code
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The document's name in Ukrainian, as printed on copies and shown to citizens.
    pub fn title_uk(self) -> &'static str {
        self.descriptor().title_uk
    }

    pub fn title_en(self) -> &'static str {
        self.descriptor().title_en
    }
}

/// What the engine knows about one document type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentDescriptor {
    /// The partner API's code; equal to the type's serde name.
    pub code: &'static str,
    /// The document's name in Ukrainian, as printed on copies and shown to citizens.
    pub title_uk: &'static str,
    pub title_en: &'static str,
    /// Whether the document bears a photo: its copy shows a placeholder in the photo's place.
    pub has_photo: bool,
    /// How the copy's card shows the document's own features.
    pub card: CardKind,
}

/// How a copy's card lays out a document, beyond the table of its fields. Each kind picks the
/// fields it draws by their [`FieldKind`]; the fields it does not draw go in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// Just the table of fields.
    Plain,
    /// The first field of this kind shown large across the card above the table: the taxpayer
    /// number, the driving categories.
    Headline(FieldKind),
    /// The [`FieldKind::Plate`] drawn as a Ukrainian number plate, the [`FieldKind::VehicleMake`]
    /// beside it.
    NumberPlate,
    /// The table in sections: the child ([`FieldKind::Child`], [`FieldKind::BirthDate`],
    /// [`FieldKind::BirthPlace`], [`FieldKind::Sex`]), the parents ([`FieldKind::Parent`]), the
    /// registration (the rest).
    ChildAndParents,
    /// The table, then the [`FieldKind::RegisteredAddress`] and the [`FieldKind::ActualAddress`]
    /// side by side.
    TwoAddresses,
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One field of a document as printed: a Ukrainian label, its value, and what the field is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentField {
    pub label: String,
    pub value: String,
    /// What the field is, for laying it out; fields stored before kinds existed are `Other`.
    #[serde(default)]
    pub kind: FieldKind,
}

impl DocumentField {
    /// A field of no particular kind ([`FieldKind::Other`]).
    pub fn new(label: &str, value: &str) -> Self {
        Self::of_kind(FieldKind::Other, label, value)
    }

    pub fn of_kind(kind: FieldKind, label: &str, value: &str) -> Self {
        Self { label: label.to_string(), value: value.to_string(), kind }
    }
}

/// What a document field is, whatever its label says: copies lay fields out by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// Nothing the layout singles out: a row of the table.
    #[default]
    Other,
    /// The holder's name, or a part of it (surname, given name, patronymic).
    Name,
    /// The document's own number (series and number).
    DocumentNumber,
    /// A РНОКПП, the taxpayer's registration number.
    TaxpayerNumber,
    /// A date of birth.
    BirthDate,
    /// A place of birth.
    BirthPlace,
    Sex,
    /// Any other date: of issue, of expiry, of registration.
    Date,
    /// The child a birth certificate is of.
    Child,
    /// A parent of the child (father or mother).
    Parent,
    /// The registered address (of an IDP, the address left behind).
    RegisteredAddress,
    /// Where the holder actually lives.
    ActualAddress,
    /// A vehicle's number plate.
    Plate,
    /// A vehicle's make and model.
    VehicleMake,
    /// The vehicle categories a driver may drive.
    Categories,
}

/// A document a registry holds for a citizen: its registry id, a short label that tells it apart
/// from others of its type (the child's name, the car's plate), and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldDocument {
    pub document_type: DocumentType,
    pub document_id: String,
    pub label: String,
    pub fields: Vec<DocumentField>,
}

/// What a citizen may choose from for one requested document type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentCandidate {
    pub document_type: DocumentType,
    pub document_id: String,
    pub label: String,
}

impl From<&HeldDocument> for DocumentCandidate {
    fn from(d: &HeldDocument) -> Self {
        Self { document_type: d.document_type, document_id: d.document_id.clone(), label: d.label.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_type_has_a_descriptor_whose_code_round_trips() {
        let mut codes = std::collections::HashSet::new();
        for t in DocumentType::ALL {
            let d = t.descriptor();
            assert_eq!(DocumentType::from_code(d.code), Some(t), "{t:?}");
            assert!(codes.insert(d.code), "{t:?}: code {} is taken", d.code);
            assert!(!d.title_uk.is_empty() && !d.title_en.is_empty(), "{t:?}");
            // The code is the persisted serde name.
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", d.code), "{t:?}");
        }
    }

    #[test]
    fn a_field_stored_before_kinds_existed_loads_as_other() {
        let old: DocumentField = serde_json::from_str(r#"{"label":"Номер","value":"ВХЕ 482916"}"#).unwrap();
        assert_eq!(old, DocumentField::new("Номер", "ВХЕ 482916"));
        assert_eq!(old.kind, FieldKind::Other);
        let new = DocumentField::of_kind(FieldKind::Categories, "Категорії", "B, C1");
        let json = serde_json::to_string(&new).unwrap();
        assert!(json.contains(r#""kind":"categories""#), "{json}");
        assert_eq!(serde_json::from_str::<DocumentField>(&json).unwrap(), new);
    }
}
