//! A copy of one document as a PDF page: the document's fields under its Ukrainian title, and
//! the facts of the copy — when it was made (Kyiv time, with the offset), for which organisation,
//! for what purpose, how long it may be kept, and the copy's id.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Kyiv;
use diia_qr_domain::documents::{DocumentType, HeldDocument};
use uuid::Uuid;

use crate::pdf::{FontWeight, PdfBuilder, PdfError, Rgb, A4_HEIGHT, A4_WIDTH};

/// Everything a copy shows besides the document itself.
#[derive(Debug, Clone)]
pub struct CopyContext<'a> {
    pub share_request_id: Uuid,
    pub organisation_name: &'a str,
    pub branch_name: &'a str,
    pub branch_address: &'a str,
    pub purposes: &'a [String],
    pub retention_days: u32,
    pub made_at: DateTime<Utc>,
}

/// A copy's id: derived from the request and the document, so a re-rendered copy keeps it.
pub fn copy_id(share_request_id: Uuid, document: &HeldDocument) -> Uuid {
    let name = format!("{}:{}", document.document_type.code(), document.document_id);
    Uuid::new_v5(&share_request_id, name.as_bytes())
}

/// "26.11.2026 12:00:05 (за київським часом, UTC+02:00)".
pub fn kyiv_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Kyiv);
    format!("{} (за київським часом, UTC{})", local.format("%d.%m.%Y %H:%M:%S"), local.format("%:z"))
}

/// "30 днів", "1 день", "3 дні": Ukrainian plural forms.
pub fn days_uk(n: u32) -> String {
    let word = match (n % 10, n % 100) {
        (1, r) if r != 11 => "день",
        (2..=4, r) if !(12..=14).contains(&r) => "дні",
        _ => "днів",
    };
    format!("{n} {word}")
}

/// The copy's file name stem: the document type and a short id, ASCII only for mail clients.
pub fn file_stem(document: &HeldDocument, copy_id: Uuid) -> String {
    format!("{}-{}", document.document_type.code(), &copy_id.simple().to_string()[..8])
}

const INK: Rgb = Rgb(0.07, 0.07, 0.07);
const MUTED: Rgb = Rgb(0.38, 0.38, 0.38);
const BAND: Rgb = Rgb(0.93, 0.95, 0.98);
const RULE: Rgb = Rgb(0.75, 0.78, 0.82);

fn has_photo(t: DocumentType) -> bool {
    matches!(t, DocumentType::InternalPassport | DocumentType::ForeignPassport | DocumentType::DriverLicense | DocumentType::StudentIdCard)
}

pub fn render_copy(document: &HeldDocument, ctx: &CopyContext<'_>) -> Result<Vec<u8>, PdfError> {
    let id = copy_id(ctx.share_request_id, document);
    let title = document.document_type.title_uk();
    let mut pdf = PdfBuilder::new(&format!("Копія: {title}"), ctx.made_at);
    pdf.new_page();
    let margin = 50.0;
    let width = A4_WIDTH - 2.0 * margin;

    // Header band: what this is, and the document's name.
    pdf.fill_rect(0.0, A4_HEIGHT - 120.0, A4_WIDTH, 120.0, BAND);
    pdf.text(margin, A4_HEIGHT - 50.0, 10.0, FontWeight::Regular, MUTED, "ЕЛЕКТРОННА КОПІЯ ДОКУМЕНТА · ДІЯ.QR");
    let mut y = pdf.paragraph(margin, A4_HEIGHT - 78.0, width, 18.0, FontWeight::Bold, INK, title);

    // The holder's data, as a two-column table; a photo placeholder where the document has one.
    y = y.min(A4_HEIGHT - 150.0) - 10.0;
    let table_width = if has_photo(document.document_type) {
        let (w, h) = (96.0, 120.0);
        let x = A4_WIDTH - margin - w;
        pdf.stroke_rect(x, y - h + 12.0, w, h, 0.8, RULE);
        pdf.paragraph(x + 10.0, y - h / 2.0 + 12.0, w - 20.0, 8.0, FontWeight::Regular, MUTED, "Фото власника документа");
        width - w - 20.0
    } else {
        width
    };
    let label_width = 170.0;
    for field in &document.fields {
        let label_end = pdf.paragraph(margin, y, label_width - 10.0, 9.5, FontWeight::Regular, MUTED, &field.label);
        let value_end = pdf.paragraph(margin + label_width, y, table_width - label_width, 11.0, FontWeight::Bold, INK, &field.value);
        y = label_end.min(value_end) - 4.0;
        pdf.line(margin, y + 9.0, margin + table_width, y + 9.0, 0.4, RULE);
        y -= 8.0;
    }

    // The facts of the copy.
    y -= 24.0;
    pdf.line(margin, y + 16.0, A4_WIDTH - margin, y + 16.0, 1.0, INK);
    let purposes = ctx.purposes.join(", ");
    let facts = [
        ("Копію сформовано", kyiv_time(ctx.made_at)),
        ("Копію надіслано організації", ctx.organisation_name.to_string()),
        ("Відділення", format!("{}, {}", ctx.branch_name, ctx.branch_address)),
        ("Мета обробки (послуга)", purposes),
        ("Строк зберігання копії", days_uk(ctx.retention_days)),
        ("Ідентифікатор копії", id.to_string()),
    ];
    for (label, value) in facts {
        pdf.text(margin, y, 9.0, FontWeight::Regular, MUTED, label);
        y = pdf.paragraph(margin + label_width, y, width - label_width, 10.0, FontWeight::Regular, INK, &value) - 6.0;
    }
    pdf.paragraph(
        margin,
        60.0,
        width,
        8.0,
        FontWeight::Regular,
        MUTED,
        "Копію створено на запит власника документа через Дія.QR і засвідчено кваліфікованою електронною печаткою: \
         підпис у файлі .p7s поруч із цим PDF. Використовувати копію можна лише з указаною метою та протягом указаного строку.",
    );
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kyiv_time_shows_the_offset_in_winter_and_summer() {
        let winter = DateTime::parse_from_rfc3339("2026-11-26T10:00:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(kyiv_time(winter), "26.11.2026 12:00:05 (за київським часом, UTC+02:00)");
        let summer = DateTime::parse_from_rfc3339("2026-07-01T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(kyiv_time(summer), "01.07.2026 13:00:00 (за київським часом, UTC+03:00)");
    }

    #[test]
    fn ukrainian_plurals_of_days() {
        assert_eq!(days_uk(1), "1 день");
        assert_eq!(days_uk(3), "3 дні");
        assert_eq!(days_uk(11), "11 днів");
        assert_eq!(days_uk(22), "22 дні");
        assert_eq!(days_uk(30), "30 днів");
    }
}
