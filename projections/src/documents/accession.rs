//! The accession application (заява про приєднання): the PDF a partner's head signs with the
//! КЕП to join the public offer. The same partner details give the same bytes, so the service can
//! render it again to check a signature over it, and keeps the signed bytes as evidence.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::pdf::{FontWeight, PdfBuilder, PdfError, Rgb, A4_HEIGHT, A4_WIDTH};
use super::wording::kyiv_time;

const INK: Rgb = Rgb(0.07, 0.07, 0.07);
const MUTED: Rgb = Rgb(0.35, 0.35, 0.38);
const MARGIN: f32 = 56.0;

/// What the application states.
pub struct AccessionDetails<'a> {
    pub partner_id: Uuid,
    pub organisation_name: &'a str,
    /// «юридична особа» or «фізична особа — підприємець».
    pub partner_kind: &'a str,
    /// ЄДРПОУ, or the РНОКПП of a sole proprietor.
    pub registry_code: &'a str,
    pub head_full_name: &'a str,
    pub head_rnokpp: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub offer_version: &'a str,
    pub offer_sha256: &'a str,
    /// When the offer was accepted, if known: the application's date.
    pub offer_accepted_at: Option<DateTime<Utc>>,
}

/// The application's id: one per partner and offer version.
pub fn application_id(partner_id: Uuid, offer_version: &str) -> Uuid {
    Uuid::new_v5(&partner_id, format!("accession-application:{offer_version}").as_bytes())
}

/// The application as a one-page PDF/A-2b in Ukrainian.
pub fn render_accession_application(d: &AccessionDetails<'_>) -> Result<Vec<u8>, PdfError> {
    // A fixed date when the acceptance time is unknown keeps the bytes reproducible.
    let dated = d.offer_accepted_at.unwrap_or(DateTime::UNIX_EPOCH);
    let mut pdf = PdfBuilder::new(&format!("Заява про приєднання — {}", d.organisation_name), dated);
    pdf.set_document_id(*application_id(d.partner_id, d.offer_version).as_bytes());
    pdf.new_page();
    let width = A4_WIDTH - 2.0 * MARGIN;
    let mut y = A4_HEIGHT - 80.0;
    y = pdf.paragraph(
        MARGIN,
        y,
        width,
        17.0,
        FontWeight::Bold,
        INK,
        "Заява про приєднання до публічної оферти про надання послуги «Дія.QR»",
    );
    y -= 10.0;
    let intro = format!(
        "{} ({}, код {}) в особі керівника {} заявляє про повне і беззастережне приєднання до публічної оферти «Дія.QR» \
         редакції {} і зобов'язується виконувати її умови.",
        d.organisation_name, d.partner_kind, d.registry_code, d.head_full_name, d.offer_version
    );
    y = pdf.paragraph(MARGIN, y, width, 11.0, FontWeight::Regular, INK, &intro);
    y -= 14.0;
    let accepted = d.offer_accepted_at.map(kyiv_time).unwrap_or_else(|| "не зафіксовано".into());
    let rows = [
        ("Організація", d.organisation_name.to_owned()),
        ("Вид", d.partner_kind.to_owned()),
        ("Код (ЄДРПОУ або РНОКПП ФОП)", d.registry_code.to_owned()),
        ("Керівник", d.head_full_name.to_owned()),
        ("РНОКПП керівника", d.head_rnokpp.to_owned()),
        ("Електронна пошта", d.email.to_owned()),
        ("Телефон", d.phone.to_owned()),
        ("Редакція оферти", d.offer_version.to_owned()),
        ("SHA-256 тексту оферти", d.offer_sha256.to_owned()),
        ("Оферту прийнято", accepted),
        ("Ідентифікатор заяви", application_id(d.partner_id, d.offer_version).to_string()),
    ];
    for (label, value) in rows {
        pdf.paragraph(MARGIN, y, 170.0, 9.5, FontWeight::Regular, MUTED, label);
        let bottom = pdf.paragraph(MARGIN + 180.0, y, width - 180.0, 10.5, FontWeight::Bold, INK, &value);
        y = bottom - 6.0;
    }
    y -= 12.0;
    pdf.paragraph(
        MARGIN,
        y,
        width,
        9.5,
        FontWeight::Regular,
        MUTED,
        "Заяву підписує керівник кваліфікованим електронним підписом (КЕП): відокремлений підпис CMS над цим файлом. \
         Сервіс перевіряє підпис і зберігає файл і підпис у журналі подій як доказ.",
    );
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> AccessionDetails<'static> {
        AccessionDetails {
            partner_id: Uuid::from_u128(7),
            organisation_name: "ТОВ «Готель „Палаццо“»",
            partner_kind: "юридична особа",
            registry_code: "45172831",
            head_full_name: "Ґарбуз Марія Олексіївна",
            head_rnokpp: "3124502180",
            email: "head@palazzo.example.ua",
            phone: "+380441234567",
            offer_version: "2026-11-01",
            offer_sha256: "ab12",
            offer_accepted_at: DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z").ok().map(|t| t.with_timezone(&Utc)),
        }
    }

    #[test]
    fn the_same_details_make_the_same_bytes_and_the_text_extracts() {
        let pdf = render_accession_application(&details()).expect("renders");
        assert_eq!(pdf, render_accession_application(&details()).expect("renders"), "reproducible");
        let path = std::env::temp_dir().join(format!("accession-{}.pdf", std::process::id()));
        std::fs::write(&path, &pdf).expect("written");
        let out = std::process::Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&path).arg("-").output().expect("pdftotext runs");
        let _ = std::fs::remove_file(&path);
        let text = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in ["Заява про приєднання", "ТОВ «Готель „Палаццо“»", "Ґарбуз Марія Олексіївна", "45172831", "2026-11-01"]
        {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        let read = crate::documents::pdf::read::open(&pdf).expect("lopdf reads it");
        assert_eq!(read.copy_id, Some(application_id(Uuid::from_u128(7), "2026-11-01")));
        let mut other = details();
        other.phone = "+380501112233";
        assert_ne!(render_accession_application(&other).expect("renders"), pdf);
    }
}
