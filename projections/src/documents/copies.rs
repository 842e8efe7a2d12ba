//! A copy of one document as a PDF page, laid out like the document's data page: a header band
//! with the document's name, the holder's data as a two-column table inside a card (with a photo
//! placeholder where the document has a photo, and the document's own touches: the vehicle's
//! number plate, the driving categories, the taxpayer number, the child and the parents, the two
//! addresses of an IDP certificate), then the facts of the copy — when it was made (Kyiv time,
//! with the offset), for which organisation and branch, for what purpose, how long it may be
//! kept, its id — and a QR code with the link that verifies it. The document type's descriptor
//! says whether there is a photo and which kind of card to draw; the card picks the fields it
//! shows apart by their kind, never by their label.

use chrono::{DateTime, Utc};
use diia_qr_domain::documents::{CardKind, DocumentField, FieldKind, HeldDocument};
use qrcode::EcLevel;
use uuid::Uuid;

use super::pdf::{FontWeight, PdfBuilder, PdfError, Rgb, A4_HEIGHT, A4_WIDTH};
use super::qr::matrix::qr_modules;
use super::wording::{days_uk, kyiv_time};

/// Everything a copy shows besides the document itself.
#[derive(Debug, Clone)]
pub struct CopyContext<'a> {
    pub share_request_id: Uuid,
    /// The seed of the copies' ids ([`copy_seed`]).
    pub copy_seed: Uuid,
    pub organisation_name: &'a str,
    pub branch_name: &'a str,
    pub branch_address: &'a str,
    pub purposes: &'a [String],
    pub retention_days: u32,
    pub made_at: DateTime<Utc>,
    /// The link that verifies this copy (the full URL): drawn as a QR code and printed under it.
    pub verification_url: &'a str,
}

/// A copy's id: derived from the share's random copy seed and the document, so a re-rendered
/// copy keeps it while the id, without the seed (sealed in the log), tells nothing of the
/// document's number.
pub fn copy_id(copy_seed: Uuid, document: &HeldDocument) -> Uuid {
    let name = format!("{}:{}", document.document_type.code(), document.document_id);
    Uuid::new_v5(&copy_seed, name.as_bytes())
}

/// The seed of a share's copy ids: the one its `Sent` event recorded, or, for shares sent
/// before seeds existed, the request id (their copies keep the ids they were mailed with).
pub fn copy_seed(share_request_id: Uuid, recorded: Option<Uuid>) -> Uuid {
    recorded.unwrap_or(share_request_id)
}

/// The copy's file name stem: the document type and a short id, ASCII only for mail clients.
pub fn file_stem(document: &HeldDocument, copy_id: Uuid) -> String {
    format!("{}-{}", document.document_type.code(), &copy_id.simple().to_string()[..8])
}

const INK: Rgb = Rgb(0.07, 0.07, 0.09);
const MUTED: Rgb = Rgb(0.36, 0.38, 0.42);
const BAND: Rgb = Rgb(0.925, 0.945, 0.975);
const CARD_STRIP: Rgb = Rgb(0.955, 0.965, 0.985);
const RULE: Rgb = Rgb(0.78, 0.8, 0.84);
const FRAME: Rgb = Rgb(0.6, 0.64, 0.7);
/// The blue and yellow of the flag of Ukraine.
const BLUE: Rgb = Rgb(0.0, 0.341, 0.718);
const YELLOW: Rgb = Rgb(1.0, 0.843, 0.0);
const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);

const MARGIN: f32 = 42.0;
const CONTENT_WIDTH: f32 = A4_WIDTH - 2.0 * MARGIN;
/// Inner padding of the document card.
const PAD: f32 = 14.0;
/// The legal note at the foot of the last page ends above this.
const FOOTER_TOP: f32 = 64.0;

/// Table text: labels small and grey, values larger and bold.
const LABEL_SIZE: f32 = 8.5;
const VALUE_SIZE: f32 = 10.5;
const LABEL_WIDTH: f32 = 150.0;

const PHOTO_WIDTH: f32 = 92.0;
const PHOTO_HEIGHT: f32 = 118.0;

/// Takes out the first field of one of `kinds`.
fn take_field(fields: &mut Vec<&DocumentField>, kinds: &[FieldKind]) -> Option<DocumentField> {
    let i = fields.iter().position(|f| kinds.contains(&f.kind))?;
    Some(fields.remove(i).clone())
}

/// Takes out every field of one of `kinds`, in their order.
fn take_fields(fields: &mut Vec<&DocumentField>, kinds: &[FieldKind]) -> Vec<DocumentField> {
    std::iter::from_fn(|| take_field(fields, kinds)).collect()
}

/// The size a headline field is shown at.
fn headline_size(kind: FieldKind) -> f32 {
    match kind {
        FieldKind::TaxpayerNumber => 24.0,
        _ => 22.0,
    }
}

pub fn render_copy(document: &HeldDocument, ctx: &CopyContext<'_>) -> Result<Vec<u8>, PdfError> {
    let id = copy_id(ctx.copy_seed, document);
    let title = document.document_type.title_uk();
    let mut pdf = PdfBuilder::new(&format!("Копія: {title}"), ctx.made_at);
    pdf.set_document_id(*id.as_bytes());
    let mut page = Page { pdf, title, y: 0.0 };
    page.start(document);
    page.card(document);
    page.facts(ctx, id);
    page.pdf.finish()
}

/// The page being laid out, top to bottom.
struct Page<'t> {
    pdf: PdfBuilder,
    title: &'t str,
    /// The top of the free space.
    y: f32,
}

impl Page<'_> {
    /// The first page's header band: the flag, a caption, the document's name and its label.
    fn start(&mut self, document: &HeldDocument) {
        let pdf = &mut self.pdf;
        pdf.new_page();
        let (title_size, caption_size) = (19.0, 9.0);
        let title_lines = pdf.wrap(CONTENT_WIDTH, title_size, FontWeight::Bold, self.title);
        let caption = match document.label.trim() {
            "" => "Дані з державного реєстру, передані на запит власника документа".to_owned(),
            label => format!("{label} · дані з державного реєстру, передані на запит власника документа"),
        };
        let caption_lines = pdf.wrap(CONTENT_WIDTH, caption_size, FontWeight::Regular, &caption);
        let band_height = 66.0 + title_lines.len() as f32 * title_size * 1.3 + caption_lines.len() as f32 * caption_size * 1.3;
        let band_bottom = A4_HEIGHT - band_height;
        pdf.fill_rect(0.0, band_bottom, A4_WIDTH, band_height, BAND);
        pdf.fill_rect(0.0, band_bottom, A4_WIDTH, 2.0, BLUE);
        // A small flag before the caption.
        let top = A4_HEIGHT - 34.0;
        pdf.fill_rect(MARGIN, top + 5.0, 15.0, 5.0, BLUE);
        pdf.fill_rect(MARGIN, top, 15.0, 5.0, YELLOW);
        pdf.text(MARGIN + 22.0, top + 1.5, 8.5, FontWeight::Bold, BLUE, "УКРАЇНА · ЕЛЕКТРОННА КОПІЯ ДОКУМЕНТА · ДІЯ.QR");
        let mut y = top - 28.0;
        for line in &title_lines {
            pdf.text(MARGIN, y, title_size, FontWeight::Bold, INK, line);
            y -= title_size * 1.3;
        }
        y += 4.0;
        for line in &caption_lines {
            pdf.text(MARGIN, y, caption_size, FontWeight::Regular, MUTED, line);
            y -= caption_size * 1.3;
        }
        self.y = band_bottom - 18.0;
    }

    /// A continuation page: a slim band with the document's name.
    fn continue_on_new_page(&mut self) {
        let pdf = &mut self.pdf;
        pdf.new_page();
        pdf.fill_rect(0.0, A4_HEIGHT - 44.0, A4_WIDTH, 44.0, BAND);
        pdf.fill_rect(0.0, A4_HEIGHT - 44.0, A4_WIDTH, 1.5, BLUE);
        let title = format!("{} (продовження)", self.title);
        let size = fit_size(pdf, &title, CONTENT_WIDTH, 11.0, 7.0, FontWeight::Bold);
        pdf.text(MARGIN, A4_HEIGHT - 27.0, size, FontWeight::Bold, INK, &title);
        self.y = A4_HEIGHT - 62.0;
    }

    /// The document card: a strip naming the document and its number, the document's own
    /// feature, then the remaining fields as a table (beside a photo placeholder where the
    /// document has a photo).
    fn card(&mut self, document: &HeldDocument) {
        let mut fields: Vec<&DocumentField> = document.fields.iter().collect();
        let x = MARGIN;
        let mut segment_top = self.y;

        // The strip.
        let strip_height = 22.0;
        self.pdf.fill_rect(x, self.y - strip_height, CONTENT_WIDTH, strip_height, CARD_STRIP);
        self.pdf.line(x, self.y - strip_height, x + CONTENT_WIDTH, self.y - strip_height, 0.5, RULE);
        self.pdf.text(x + PAD, self.y - 14.5, 7.5, FontWeight::Bold, MUTED, "ВІДОМОСТІ З ДОКУМЕНТА");
        let number = document.document_id.trim();
        if !number.is_empty() {
            let text = format!("№ {number}");
            let size = fit_size(&self.pdf, &text, CONTENT_WIDTH / 2.0, 9.5, 6.0, FontWeight::Bold);
            let w = self.pdf.text_width(size, FontWeight::Bold, &text);
            self.pdf.text(x + CONTENT_WIDTH - PAD - w, self.y - 15.0, size, FontWeight::Bold, INK, &text);
        }
        self.y -= strip_height + 16.0;

        let descriptor = document.document_type.descriptor();
        match descriptor.card {
            CardKind::NumberPlate => self.vehicle(&mut fields),
            CardKind::Headline(kind) => {
                if let Some(f) = take_field(&mut fields, &[kind]) {
                    self.big_value(&f, headline_size(kind));
                }
            }
            CardKind::Plain | CardKind::ChildAndParents | CardKind::TwoAddresses => {}
        }

        let photo = descriptor.has_photo;
        let table_x = if photo { x + PAD + PHOTO_WIDTH + 18.0 } else { x + PAD };
        let table_width = x + CONTENT_WIDTH - PAD - table_x;
        let mut photo_bottom = self.y;
        if photo {
            self.photo_placeholder(x + PAD, self.y - PHOTO_HEIGHT);
            photo_bottom = self.y - PHOTO_HEIGHT - 4.0;
        }

        match descriptor.card {
            CardKind::ChildAndParents => {
                let child = take_fields(&mut fields, &[FieldKind::Child, FieldKind::BirthDate, FieldKind::BirthPlace, FieldKind::Sex]);
                let parents = take_fields(&mut fields, &[FieldKind::Parent]);
                let rest: Vec<DocumentField> = fields.iter().map(|f| (*f).clone()).collect();
                for (heading, group) in [("Дитина", child), ("Батьки", parents), ("Державна реєстрація народження", rest)]
                {
                    if group.is_empty() {
                        continue;
                    }
                    self.ensure(34.0, &mut segment_top);
                    self.section_heading(table_x, table_width, heading);
                    for f in &group {
                        self.row(table_x, table_width, f, &mut segment_top);
                    }
                    self.y -= 6.0;
                }
            }
            CardKind::TwoAddresses => {
                let registered = take_field(&mut fields, &[FieldKind::RegisteredAddress]);
                let actual = take_field(&mut fields, &[FieldKind::ActualAddress]);
                let rest: Vec<DocumentField> = fields.iter().map(|f| (*f).clone()).collect();
                for f in &rest {
                    self.row(table_x, table_width, f, &mut segment_top);
                }
                self.addresses(registered.as_ref(), actual.as_ref(), &mut segment_top);
            }
            CardKind::Plain | CardKind::Headline(_) | CardKind::NumberPlate => {
                let rest: Vec<DocumentField> = fields.iter().map(|f| (*f).clone()).collect();
                for f in &rest {
                    self.row(table_x, table_width, f, &mut segment_top);
                }
            }
        }
        if document.fields.is_empty() {
            self.pdf.text(table_x, self.y - 10.0, 9.5, FontWeight::Regular, MUTED, "Реєстр не передав відомостей цього документа.");
            self.y -= 22.0;
        }
        self.y = self.y.min(photo_bottom) - 6.0;
        self.pdf.stroke_rect(x, self.y, CONTENT_WIDTH, segment_top - self.y, 0.8, FRAME);
        self.y -= 18.0;
    }

    /// Starts a new page (closing the card's frame on this one) unless `height` fits above the
    /// foot of the page.
    fn ensure(&mut self, height: f32, segment_top: &mut f32) {
        if self.y - height >= FOOTER_TOP {
            return;
        }
        self.pdf.stroke_rect(MARGIN, self.y, CONTENT_WIDTH, *segment_top - self.y, 0.8, FRAME);
        self.continue_on_new_page();
        *segment_top = self.y;
        self.y -= 14.0;
    }

    /// One table row: the label on the left, the value on the right, a rule below.
    fn row(&mut self, x: f32, width: f32, field: &DocumentField, segment_top: &mut f32) {
        let value_x = x + LABEL_WIDTH;
        let value_width = width - LABEL_WIDTH;
        let label_lines = self.pdf.wrap(LABEL_WIDTH - 12.0, LABEL_SIZE, FontWeight::Regular, &field.label).len() as f32;
        let value_lines = self.pdf.wrap(value_width, VALUE_SIZE, FontWeight::Bold, &field.value).len() as f32;
        let height = (label_lines * LABEL_SIZE * 1.3).max(value_lines * VALUE_SIZE * 1.3) + 7.0;
        self.ensure(height, segment_top);
        let baseline = self.y - VALUE_SIZE;
        self.pdf.paragraph(x, baseline, LABEL_WIDTH - 12.0, LABEL_SIZE, FontWeight::Regular, MUTED, &field.label);
        self.pdf.paragraph(value_x, baseline, value_width, VALUE_SIZE, FontWeight::Bold, INK, &field.value);
        self.y -= height;
        self.pdf.line(x, self.y + 2.0, x + width, self.y + 2.0, 0.4, RULE);
        self.y -= 5.0;
    }

    fn section_heading(&mut self, x: f32, width: f32, heading: &str) {
        let text = heading.to_uppercase();
        self.pdf.text(x, self.y - 9.0, 8.0, FontWeight::Bold, BLUE, &text);
        self.pdf.line(x, self.y - 13.0, x + width, self.y - 13.0, 0.8, BLUE);
        self.y -= 22.0;
    }

    /// A field shown large across the card: the taxpayer number, the driving categories.
    fn big_value(&mut self, field: &DocumentField, size: f32) {
        let x = MARGIN + PAD;
        let width = CONTENT_WIDTH - 2.0 * PAD;
        self.pdf.text(x, self.y - 8.0, LABEL_SIZE, FontWeight::Regular, MUTED, &field.label);
        let size = fit_size(&self.pdf, &field.value, width, size, 9.0, FontWeight::Bold);
        let end = self.pdf.paragraph(x, self.y - 12.0 - size * 0.9, width, size, FontWeight::Bold, BLUE, &field.value);
        // `end` is the baseline after the last line; the last line's descenders end above this.
        self.y = end + size * 1.3 - size * 0.25 - 10.0;
        self.pdf.line(x, self.y, x + width, self.y, 0.4, RULE);
        self.y -= 12.0;
    }

    /// The vehicle's number plate, drawn as a Ukrainian plate, and its make beside it.
    fn vehicle(&mut self, fields: &mut Vec<&DocumentField>) {
        let plate = take_field(fields, &[FieldKind::Plate]);
        let make = take_field(fields, &[FieldKind::VehicleMake]);
        if plate.is_none() && make.is_none() {
            return;
        }
        let x = MARGIN + PAD;
        let mut right = x;
        if let Some(plate) = &plate {
            self.pdf.text(x, self.y - 8.0, LABEL_SIZE, FontWeight::Regular, MUTED, &plate.label);
            let (w, h) = (236.0, 52.0);
            let top = self.y - 16.0;
            self.pdf.fill_rect(x, top - h, w, h, WHITE);
            self.pdf.fill_rect(x, top - h, 26.0, h, BLUE);
            // The flag, outlined in white so that its blue shows on the blue strip.
            self.pdf.fill_rect(x + 6.0, top - 18.0, 14.0, 10.0, WHITE);
            self.pdf.fill_rect(x + 7.0, top - 13.0, 12.0, 4.0, BLUE);
            self.pdf.fill_rect(x + 7.0, top - 17.0, 12.0, 4.0, YELLOW);
            let ua = self.pdf.text_width(9.0, FontWeight::Bold, "UA");
            self.pdf.text(x + 13.0 - ua / 2.0, top - h + 9.0, 9.0, FontWeight::Bold, WHITE, "UA");
            self.pdf.stroke_rect(x, top - h, w, h, 2.0, INK);
            let size = fit_size(&self.pdf, &plate.value, w - 48.0, 28.0, 8.0, FontWeight::Bold);
            let tw = self.pdf.text_width(size, FontWeight::Bold, &plate.value);
            self.pdf.text(x + 26.0 + (w - 26.0 - tw) / 2.0, top - h / 2.0 - size * 0.36, size, FontWeight::Bold, INK, &plate.value);
            right = x + w + 22.0;
        }
        let mut bottom = self.y - 16.0 - 52.0;
        if let Some(make) = &make {
            let width = MARGIN + CONTENT_WIDTH - PAD - right;
            self.pdf.text(right, self.y - 8.0, LABEL_SIZE, FontWeight::Regular, MUTED, &make.label);
            let end = self.pdf.paragraph(right, self.y - 36.0, width, 16.0, FontWeight::Bold, INK, &make.value);
            bottom = bottom.min(end);
        }
        self.y = bottom - 14.0;
    }

    fn photo_placeholder(&mut self, x: f32, y: f32) {
        let pdf = &mut self.pdf;
        pdf.fill_rect(x, y, PHOTO_WIDTH, PHOTO_HEIGHT, Rgb(0.95, 0.955, 0.965));
        pdf.stroke_rect(x, y, PHOTO_WIDTH, PHOTO_HEIGHT, 0.8, RULE);
        // Head and shoulders, in blocks.
        let cx = x + PHOTO_WIDTH / 2.0;
        let shade = Rgb(0.86, 0.87, 0.89);
        pdf.fill_rect(cx - 15.0, y + 62.0, 30.0, 34.0, shade);
        pdf.fill_rect(cx - 32.0, y + 26.0, 64.0, 32.0, shade);
        pdf.text(cx - pdf.text_width(7.5, FontWeight::Bold, "ФОТО") / 2.0, y + 14.0, 7.5, FontWeight::Bold, MUTED, "ФОТО");
        let note = "у копії не відтворюється";
        let size = fit_size(pdf, note, PHOTO_WIDTH - 8.0, 6.5, 5.0, FontWeight::Regular);
        pdf.text(cx - pdf.text_width(size, FontWeight::Regular, note) / 2.0, y + 5.5, size, FontWeight::Regular, MUTED, note);
    }

    /// An IDP certificate's registered and actual addresses, side by side.
    fn addresses(&mut self, registered: Option<&DocumentField>, actual: Option<&DocumentField>, segment_top: &mut f32) {
        let boxes: Vec<&DocumentField> = [registered, actual].into_iter().flatten().collect();
        if boxes.is_empty() {
            return;
        }
        let gap = 14.0;
        let n = boxes.len() as f32;
        let width = (CONTENT_WIDTH - 2.0 * PAD - gap * (n - 1.0)) / n;
        let inner = width - 20.0;
        let height = boxes
            .iter()
            .map(|f| {
                let l = self.pdf.wrap(inner, LABEL_SIZE, FontWeight::Bold, &f.label).len() as f32;
                let v = self.pdf.wrap(inner, 11.0, FontWeight::Bold, &f.value).len() as f32;
                l * LABEL_SIZE * 1.3 + v * 11.0 * 1.3 + 26.0
            })
            .fold(0.0, f32::max);
        self.y -= 6.0;
        self.ensure(height, segment_top);
        for (i, f) in boxes.iter().enumerate() {
            let x = MARGIN + PAD + i as f32 * (width + gap);
            self.pdf.fill_rect(x, self.y - height, width, height, CARD_STRIP);
            self.pdf.fill_rect(x, self.y - height, 3.0, height, if i == 0 { BLUE } else { YELLOW });
            let end = self.pdf.paragraph(x + 12.0, self.y - 16.0, inner, LABEL_SIZE, FontWeight::Bold, MUTED, &f.label);
            self.pdf.paragraph(x + 12.0, end - 5.0, inner, 11.0, FontWeight::Bold, INK, &f.value);
        }
        self.y -= height + 8.0;
    }

    /// The facts of the copy, with the QR code and the verification link, above the legal note.
    fn facts(&mut self, ctx: &CopyContext<'_>, id: Uuid) {
        const MADE: &str = "Копію сформовано";
        let made = kyiv_time(ctx.made_at);
        let facts = [
            ("Організація-отримувач", ctx.organisation_name.to_owned()),
            ("Відділення", ctx.branch_name.to_owned()),
            ("Адреса відділення", ctx.branch_address.to_owned()),
            ("Мета обробки (послуга)", ctx.purposes.join(", ")),
            ("Строк зберігання копії", days_uk(ctx.retention_days)),
            ("Ідентифікатор копії", id.to_string()),
        ];
        let qr = qr_modules(ctx.verification_url.as_bytes(), EcLevel::M).filter(|_| !ctx.verification_url.is_empty());
        // About 2.5 pt (0.9 mm) per module: scans from paper and from a screen.
        let qr_size = qr.as_ref().map_or(0.0, |(_, width)| (*width as f32 * 2.5).clamp(84.0, 150.0));
        let text_width = CONTENT_WIDTH - if qr.is_some() { qr_size + 24.0 } else { 0.0 };
        let label_width = 124.0;
        let value_width = text_width - label_width;
        let (label_size, value_size) = (8.0, 9.5);
        // The time of the copy on one line across the block, however small it must be.
        let made_size = fit_size(&self.pdf, &made, CONTENT_WIDTH - label_width, 10.5, 6.0, FontWeight::Bold);
        let heights: Vec<f32> = facts
            .iter()
            .map(|(label, value)| {
                let v = self.pdf.wrap(value_width, value_size, FontWeight::Regular, value).len() as f32;
                let l = self.pdf.wrap(label_width - 8.0, label_size, FontWeight::Regular, label).len() as f32;
                (v * value_size * 1.3).max(l * label_size * 1.3) + 4.0
            })
            .collect();
        let url_label = "Перевірити копію:";
        let url_text = format!("{url_label} {}", ctx.verification_url);
        let url_size = fit_size(&self.pdf, &url_text, CONTENT_WIDTH, 8.0, 6.0, FontWeight::Regular);
        let url_lines = self.pdf.wrap(CONTENT_WIDTH, url_size, FontWeight::Regular, &url_text).len() as f32;
        let table_height: f32 = heights.iter().sum();
        // The QR code keeps a quiet zone of four modules (10 pt) free of anything else.
        let (qr_top, qr_gap_below) = (50.0, 17.0);
        let block_height = (56.0 + table_height).max(qr_top + qr_size + qr_gap_below) + (url_lines - 1.0) * url_size * 1.3 + 4.0;

        // Anchored above the foot of the page, or on a new page if the card left no room.
        if self.y - block_height < FOOTER_TOP + 6.0 {
            self.continue_on_new_page();
        }
        let top = FOOTER_TOP + 10.0 + block_height;
        let pdf = &mut self.pdf;
        pdf.line(MARGIN, top, MARGIN + CONTENT_WIDTH, top, 1.2, INK);
        pdf.text(MARGIN, top - 16.0, 10.0, FontWeight::Bold, INK, "ВІДОМОСТІ ПРО КОПІЮ");
        pdf.text(MARGIN, top - 36.0, label_size, FontWeight::Regular, MUTED, MADE);
        pdf.text(MARGIN + label_width, top - 36.0, made_size, FontWeight::Bold, INK, &made);
        let mut y = top - 56.0;
        for ((label, value), height) in facts.iter().zip(&heights) {
            pdf.paragraph(MARGIN, y, label_width - 8.0, label_size, FontWeight::Regular, MUTED, label);
            pdf.paragraph(MARGIN + label_width, y, value_width, value_size, FontWeight::Regular, INK, value);
            y -= height;
        }
        let qr_top = top - qr_top;
        if let Some((modules, width)) = &qr {
            pdf.qr(MARGIN + CONTENT_WIDTH - qr_size, qr_top - qr_size, qr_size, modules, *width);
        }
        let url_y = (y + 4.0).min(qr_top - qr_size - qr_gap_below);
        if url_lines <= 1.0 {
            // Right-aligned, ending under the QR code.
            let url_width = pdf.text_width(url_size, FontWeight::Regular, &url_text);
            let label_w = pdf.text_width(url_size, FontWeight::Regular, url_label) + pdf.text_width(url_size, FontWeight::Regular, " ");
            let x = MARGIN + CONTENT_WIDTH - url_width;
            pdf.text(x, url_y, url_size, FontWeight::Regular, MUTED, url_label);
            pdf.text(x + label_w, url_y, url_size, FontWeight::Regular, BLUE, ctx.verification_url);
        } else {
            pdf.paragraph(MARGIN, url_y, CONTENT_WIDTH, url_size, FontWeight::Regular, BLUE, &url_text);
        }

        pdf.paragraph(
            MARGIN,
            FOOTER_TOP - 12.0,
            CONTENT_WIDTH,
            7.5,
            FontWeight::Regular,
            MUTED,
            "Копію створено на запит власника документа через Дія.QR і засвідчено кваліфікованою електронною печаткою: \
             підпис у файлі .p7s поруч із цим PDF. Використовувати копію можна лише з указаною метою та протягом указаного строку.",
        );
    }
}

/// The largest size from `max` down to `min` (in half points) at which `text` fits `width`.
fn fit_size(pdf: &PdfBuilder, text: &str, width: f32, max: f32, min: f32, weight: FontWeight) -> f32 {
    let at_one = pdf.text_width(1.0, weight, text);
    if at_one <= 0.0 {
        return max;
    }
    ((width / at_one * 2.0).floor() / 2.0).clamp(min, max)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use diia_qr_domain::documents::DocumentType;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn doc(document_type: DocumentType, document_id: &str, label: &str, fields: &[(&str, &str)]) -> HeldDocument {
        HeldDocument {
            document_type,
            document_id: document_id.to_owned(),
            label: label.to_owned(),
            fields: fields.iter().map(|(l, v)| DocumentField::new(l, v)).collect(),
        }
    }

    /// One document of every type, with the fields the development registry seeds.
    pub(crate) fn samples() -> Vec<HeldDocument> {
        diia_qr_domain::demo::one_document_of_each_type()
    }

    const URL: &str = "https://diia-qr.example.gov.ua/verify/8b0d7c8e-3f4a-5b61-9c2d-0e1f2a3b4c5d";

    fn made_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T10:00:05Z").unwrap().with_timezone(&Utc)
    }

    fn render(document: &HeldDocument) -> Vec<u8> {
        render_with(document, URL)
    }

    /// The first sample's copy id and PDF.
    pub(crate) fn sample_copy() -> (Uuid, Vec<u8>) {
        let document = &samples()[0];
        (copy_id(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef), document), render(document))
    }

    fn render_with(document: &HeldDocument, url: &str) -> Vec<u8> {
        let purposes = ["для поселення у готель".to_owned(), "для ідентифікації особи".to_owned()];
        let ctx = CopyContext {
            share_request_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            copy_seed: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            organisation_name: "ТОВ «Готель “Палаццо”»",
            branch_name: "Готель «Палаццо» — рецепція",
            branch_address: "м. Тернопіль, вул. Руська, 10",
            purposes: &purposes,
            retention_days: 30,
            made_at: made_at(),
            verification_url: url,
        };
        render_copy(document, &ctx).expect("copy renders")
    }

    /// Runs a tool, with `file` (if any) written to a temporary file whose path replaces the
    /// argument `{pdf}` (or is appended). A missing tool fails the test: nothing is skipped.
    fn run_tool(tool: &str, args: &[&str], file: Option<&[u8]>) -> (bool, String) {
        let path = std::env::temp_dir().join(format!(
            "copy-test-{}-{}-{tool}.pdf",
            std::process::id(),
            std::thread::current().name().unwrap_or("t").replace("::", "-")
        ));
        let path_str = path.to_str().expect("utf-8 temp path").to_owned();
        let mut all: Vec<String> = args.iter().map(|a| if *a == "{pdf}" { path_str.clone() } else { (*a).to_owned() }).collect();
        if let Some(bytes) = file {
            std::fs::write(&path, bytes).expect("temp file");
            if !args.contains(&"{pdf}") {
                all.push(path_str.clone());
            }
        }
        let output = Command::new(tool).args(&all).stdin(Stdio::null()).output();
        let _ = std::fs::remove_file(&path);
        match output {
            Ok(o) => {
                let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&o.stderr));
                (o.status.success(), text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("`{tool}` is not installed: scripts/setup-machine installs every tool the tests use")
            }
            Err(e) => panic!("cannot run {tool}: {e}"),
        }
    }

    /// A field of `pdfinfo`'s output.
    fn info_field<'o>(out: &'o str, name: &str) -> Option<&'o str> {
        out.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn text_of(pdf: &[u8]) -> String {
        let (ok, text) = run_tool("pdftotext", &["-enc", "UTF-8", "-raw", "{pdf}", "-"], Some(pdf));
        assert!(ok, "pdftotext failed: {text}");
        squash(&text)
    }

    #[test]
    fn the_samples_cover_every_document_type() {
        let mut types: Vec<DocumentType> = samples().iter().map(|d| d.document_type).collect();
        types.sort();
        assert_eq!(types, DocumentType::ALL.to_vec());
    }

    #[test]
    fn every_document_type_renders_a_small_sound_copy() {
        for document in samples() {
            let pdf = render(&document);
            let code = document.document_type.code();
            assert!(pdf.starts_with(b"%PDF-"), "{code}");
            assert!(pdf.len() < 100 * 1024, "{code}: {} bytes", pdf.len());
            eprintln!("{code}: {} bytes", pdf.len());
            // The fixed text and the seeded data stay within the cached repertoire.
            let plain = String::from_utf8_lossy(&pdf);
            assert_eq!(plain.matches("/FontFile2").count(), 2, "{code}");
            {
                let (ok, out) = run_tool("qpdf", &["--check"], Some(&pdf));
                assert!(ok && out.contains("No syntax or stream encoding errors"), "{code}: qpdf --check:\n{out}");
            }
        }
    }

    #[test]
    fn every_document_type_shows_its_title_fields_and_facts_as_text() {
        for document in samples() {
            let pdf = render(&document);
            let text = text_of(&pdf);
            let code = document.document_type.code();
            let mut expected: Vec<String> = vec![
                document.document_type.title_uk().to_owned(),
                "Копію сформовано".to_owned(),
                kyiv_time(made_at()),
                "26.11.2026 12:00:05 (за київським часом, UTC+02:00)".to_owned(),
                "ТОВ «Готель “Палаццо”»".to_owned(),
                "Готель «Палаццо» — рецепція".to_owned(),
                "м. Тернопіль, вул. Руська, 10".to_owned(),
                "для поселення у готель, для ідентифікації особи".to_owned(),
                "30 днів".to_owned(),
                copy_id(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef), &document).to_string(),
                URL.to_owned(),
            ];
            for f in &document.fields {
                expected.push(squash(&f.label));
                expected.push(squash(&f.value));
            }
            for e in expected {
                assert!(text.contains(&e), "{code}: {e:?} missing from:\n{text}");
            }
        }
    }

    #[test]
    fn names_with_apostrophes_and_ukrainian_letters_survive_exactly() {
        let names = ["Мар'яна Їжакевич", "Олійник-Д'Арко", "Мар\u{2BC}яна", "О’Коннор", "Ґонта Євген", "Іванна Ґудзь-Єрмоленко", "Їжак"];
        let fields: Vec<(&str, &str)> = names.iter().map(|n| ("Прізвище, ім'я", *n)).collect();
        let document = doc(DocumentType::InternalPassport, "000000001", "ID-картка", &fields);
        let pdf = render(&document);
        let text = text_of(&pdf);
        for name in names {
            assert!(text.contains(name), "{name:?} missing from:\n{text}");
        }
    }

    #[test]
    fn characters_beyond_the_repertoire_still_render_and_extract() {
        let document = doc(
            DocumentType::ForeignPassport,
            "XX1",
            "Паспорт",
            &[("Прізвище", "Παπαδόπουλος"), ("Ім'я", "Ǆemal 中 😀"), ("Місце народження", "Қарағанды")],
        );
        let pdf = render(&document);
        let plain = String::from_utf8_lossy(&pdf);
        // Both faces needed a subset of their own: the tags differ from the cached ones.
        let cached = String::from_utf8_lossy(&render(&samples()[0])).matches("+DejaVuSans").count();
        assert!(cached > 0 && plain.matches("+DejaVuSans").count() > 0);
        let text = text_of(&pdf);
        for s in ["Παπαδόπουλος", "Ǆemal 中 😀", "Қарағанды"] {
            assert!(text.contains(s), "{s:?} missing from:\n{text}");
        }
        {
            let (ok, out) = run_tool("qpdf", &["--check"], Some(&pdf));
            assert!(ok, "{out}");
        }
    }

    #[test]
    fn fonts_are_embedded_subsets_with_unicode_maps() {
        let pdf = render(&samples()[0]);
        let (ok, out) = run_tool("pdffonts", &[], Some(&pdf));
        assert!(ok, "pdffonts failed:\n{out}");
        let rows: Vec<Vec<&str>> = out.lines().skip(2).map(|l| l.split_whitespace().collect::<Vec<_>>()).filter(|r| r.len() >= 8).collect();
        assert_eq!(rows.len(), 2, "{out}");
        for row in &rows {
            let n = row.len();
            assert_eq!(&row[n - 5..n - 2], &["yes", "yes", "yes"], "emb/sub/uni in:\n{out}");
        }
    }

    #[test]
    fn the_copy_is_marked_pdf_a_2b_with_matching_metadata() {
        let pdf = render(&samples()[0]);
        let plain = String::from_utf8_lossy(&pdf);
        assert!(plain.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(plain.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
        assert!(plain.contains("<xmp:CreateDate>2026-11-26T10:00:05+00:00</xmp:CreateDate>"));
        let doc = lopdf::Document::load_mem(&pdf).expect("lopdf reads the copy");
        let info = doc.trailer.get_deref(b"Info", &doc).and_then(lopdf::Object::as_dict).expect("an Info dictionary");
        assert_eq!(info.get(b"CreationDate").and_then(lopdf::Object::as_str).ok(), Some(&b"D:20261126100005+00'00'"[..]));
        // The copy's id is the file identifier.
        let id = copy_id(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef), &samples()[0]);
        let halves = doc.trailer.get(b"ID").and_then(lopdf::Object::as_array).expect("a file identifier");
        for half in halves {
            assert_eq!(half.as_str().ok(), Some(&id.as_bytes()[..]), "trailer without the copy's id");
        }
        let (ok, out) = run_tool("pdfinfo", &["-meta"], Some(&pdf));
        assert!(ok, "{out}");
        assert!(out.contains("<pdfaid:part>2</pdfaid:part>"), "{out}");
        assert!(out.contains("Копія: Паспорт громадянина України (ID-картка)"), "{out}");
        let (ok, out) = run_tool("pdfinfo", &[], Some(&pdf));
        assert!(ok, "{out}");
        assert_eq!(info_field(&out, "Page size"), Some("595.28 x 841.89 pts (A4)"), "{out}");
        assert_eq!(info_field(&out, "Pages"), Some("1"), "{out}");
    }

    /// pikepdf's PDF/A validator (built from veraPDF's rules) approves every copy as PDF/A-2b.
    /// It is a Python package (`pikepdf[pdfa]`, which scripts/setup-machine installs); without
    /// it the test fails.
    #[test]
    fn pikepdf_validates_every_copy_as_pdf_a_2b() {
        let script = "import sys\n\
            try:\n    from pikepdf.pdfa import validate_written\n\
            except ImportError:\n    print('no pikepdf.pdfa'); sys.exit(3)\n\
            r = validate_written(sys.argv[1], '2b')\n\
            print(r.verdict, [str(f) for f in r.findings])\n\
            sys.exit(0 if r.passed else 1)\n";
        for document in samples() {
            let pdf = render(&document);
            let (ok, out) = run_tool("python3", &["-c", script, "{pdf}"], Some(&pdf));
            assert!(!out.contains("no pikepdf.pdfa"), "pikepdf.pdfa is not installed: scripts/setup-machine installs pikepdf[pdfa]");
            assert!(ok, "{}: {out}", document.document_type);
        }
    }

    #[test]
    fn the_qr_code_decodes_to_the_verification_url() {
        for document in [&samples()[0], &samples()[6]] {
            let pdf = render(document);
            let dir = std::env::temp_dir().join(format!("copy-qr-{}-{}", std::process::id(), document.document_type.code()));
            std::fs::create_dir_all(&dir).unwrap();
            let pdf_path = dir.join("copy.pdf");
            std::fs::write(&pdf_path, &pdf).unwrap();
            let prefix = dir.join("page");
            let (ok, out) = run_tool(
                "pdftoppm",
                &["-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", pdf_path.to_str().unwrap(), prefix.to_str().unwrap()],
                None,
            );
            assert!(ok, "{out}");
            let png = dir.join("page.png");
            let (ok, out) = run_tool("zbarimg", &["--raw", "-q", png.to_str().unwrap()], None);
            let _ = std::fs::remove_dir_all(&dir);
            assert!(ok, "zbarimg found no code: {out}");
            // zbarimg may print a D-Bus warning besides the code.
            assert!(out.lines().any(|l| l.trim() == URL), "{out}");
        }
    }

    #[test]
    fn any_field_list_renders_even_one_that_needs_a_second_page() {
        let long = "Дуже довге значення поля, яке не вміщується в один рядок і переноситься на кілька рядків таблиці. ".repeat(3);
        let mut fields: Vec<(String, String)> =
            (1..=40).map(|i| (format!("Поле № {i} з довгою назвою, що переноситься"), format!("{i}: {long}"))).collect();
        fields.push((String::new(), String::new()));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(l, v)| (l.as_str(), v.as_str())).collect();
        for t in DocumentType::ALL {
            let pdf = render(&doc(t, "", "", &fields));
            let text = text_of(&pdf);
            for (label, value) in &fields {
                assert!(text.contains(&squash(label)) && text.contains(&squash(value)), "{t}: {label}");
            }
            assert!(text.contains("Копію сформовано") && text.contains(URL), "{t}");
            {
                let (ok, out) = run_tool("pdfinfo", &[], Some(&pdf));
                assert!(ok, "{out}");
                assert!(info_field(&out, "Pages").and_then(|p| p.parse::<u32>().ok()).is_some_and(|p| p >= 2), "{t}: {out}");
            }
        }
        // No fields at all, and odd input: still a page, no panic.
        let empty = render_with(&doc(DocumentType::VehicleLicense, "", "", &[]), "");
        assert!(empty.starts_with(b"%PDF-"));
        let mut odd = doc(DocumentType::DriverLicense, "\u{0}\n", "\t", &[("\n", "\u{7}")]);
        odd.fields.push(DocumentField::of_kind(FieldKind::Categories, "Категорії", ""));
        let odd = render(&odd);
        assert!(odd.starts_with(b"%PDF-"));
        let _ = std::io::stderr().flush();
    }
}
