//! The documents a citizen can share, and what a state registry holds of them.

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

    pub fn code(self) -> &'static str {
        match self {
            Self::InternalPassport => "internal-passport",
            Self::ForeignPassport => "foreign-passport",
            Self::TaxpayerCard => "taxpayer-card",
            Self::BirthCertificate => "birth-certificate",
            Self::ReferenceInternallyDisplacedPerson => "reference-internally-displaced-person",
            Self::DriverLicense => "driver-license",
            Self::VehicleLicense => "vehicle-license",
            Self::StudentIdCard => "student-id-card",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The document's name in Ukrainian, as printed on copies and shown to citizens.
    pub fn title_uk(self) -> &'static str {
        match self {
            Self::InternalPassport => "Паспорт громадянина України (ID-картка)",
            Self::ForeignPassport => "Паспорт громадянина України для виїзду за кордон",
            Self::TaxpayerCard => "Картка платника податків (РНОКПП)",
            Self::BirthCertificate => "Свідоцтво про народження дитини",
            Self::ReferenceInternallyDisplacedPerson => "Довідка про взяття на облік внутрішньо переміщеної особи",
            Self::DriverLicense => "Посвідчення водія",
            Self::VehicleLicense => "Свідоцтво про реєстрацію транспортного засобу",
            Self::StudentIdCard => "Студентський квиток",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            Self::InternalPassport => "Passport of a citizen of Ukraine (ID card)",
            Self::ForeignPassport => "Passport for travelling abroad",
            Self::TaxpayerCard => "Taxpayer card (RNOKPP)",
            Self::BirthCertificate => "Child's birth certificate",
            Self::ReferenceInternallyDisplacedPerson => "IDP registration certificate",
            Self::DriverLicense => "Driver's licence",
            Self::VehicleLicense => "Vehicle registration certificate",
            Self::StudentIdCard => "Student ID card",
        }
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One field of a document as printed: a Ukrainian label and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentField {
    pub label: String,
    pub value: String,
}

impl DocumentField {
    pub fn new(label: &str, value: &str) -> Self {
        Self { label: label.to_string(), value: value.to_string() }
    }
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
