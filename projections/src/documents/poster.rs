//! The printable A4 poster of a service's QR, as PDF and as SVG: who asks, where, for what, which
//! documents, three steps for the citizen, a large QR, and beside it the short code and short
//! link (the app shows the same code after a scan, so a swapped sticker is noticed).

use chrono::{DateTime, Utc};
use diia_qr_domain::documents::DocumentType;

use super::pdf::{FontWeight, PdfBuilder, PdfError, Rgb, A4_HEIGHT, A4_WIDTH};
use super::qr::{QrError, QrMatrix, QUIET_ZONE};

/// What a poster shows.
#[derive(Debug, Clone)]
pub struct PosterContent<'a> {
    pub organisation_name: &'a str,
    pub branch_name: &'a str,
    pub branch_address: &'a str,
    pub service_names: &'a [String],
    pub documents: &'a [DocumentType],
    pub link: &'a str,
    pub short_code: &'a str,
    pub short_link: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error(transparent)]
    Qr(#[from] QrError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

pub const STEPS: [&str; 3] = [
    "Відкрийте застосунок Дія на смартфоні.",
    "Натисніть «Сканувати QR-код» і наведіть камеру на код.",
    "Перевірте, що код у Дії збігається з кодом на цьому плакаті, пройдіть фотоверифікацію і підтвердьте надсилання.",
];
const FOOTNOTE: &str = "Копії документів надійдуть на електронну пошту організації, засвідчені кваліфікованою електронною печаткою. \
                        Якщо у Дії бракує хоча б одного з документів, нічого не буде надіслано.";

const INK: Rgb = Rgb(0.0, 0.0, 0.0);
const MUTED: Rgb = Rgb(0.33, 0.33, 0.33);
const BAND: Rgb = Rgb(0.0, 0.0, 0.0);
const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);
const PANEL: Rgb = Rgb(0.94, 0.95, 0.97);

/// One laid-out element, shared by the PDF and SVG renderings so both show the same poster.
enum Item {
    Text { x: f32, y: f32, size: f32, weight: FontWeight, color: Rgb, text: String },
    Rect { x: f32, y: f32, w: f32, h: f32, color: Rgb },
    Qr { x: f32, y: f32, module: f32 },
}

/// Lays the poster out on A4 (points, origin bottom-left), wrapping text by the font's advances.
fn layout(content: &PosterContent<'_>, qr: &QrMatrix, measure: &PdfBuilder) -> Vec<Item> {
    let mut items = Vec::new();
    let margin = 48.0;
    let width = A4_WIDTH - 2.0 * margin;
    let wrapped = |items: &mut Vec<Item>, x: f32, y: f32, max: f32, size: f32, weight: FontWeight, color: Rgb, text: &str| -> f32 {
        let mut y = y;
        for line in wrap(measure, text, max, size, weight) {
            items.push(Item::Text { x, y, size, weight, color, text: line });
            y -= size * 1.3;
        }
        y
    };

    items.push(Item::Rect { x: 0.0, y: A4_HEIGHT - 64.0, w: A4_WIDTH, h: 64.0, color: BAND });
    items.push(Item::Text { x: margin, y: A4_HEIGHT - 42.0, size: 22.0, weight: FontWeight::Bold, color: WHITE, text: "Дія.QR".into() });
    items.push(Item::Text {
        x: margin + 100.0,
        y: A4_HEIGHT - 40.0,
        size: 13.0,
        weight: FontWeight::Regular,
        color: WHITE,
        text: "Поділіться документами з Дії — без паперу".into(),
    });

    let mut y = A4_HEIGHT - 104.0;
    y = wrapped(&mut items, margin, y, width, 22.0, FontWeight::Bold, INK, content.organisation_name);
    y = wrapped(
        &mut items,
        margin,
        y - 2.0,
        width,
        12.0,
        FontWeight::Regular,
        MUTED,
        &format!("{}, {}", content.branch_name, content.branch_address),
    );
    y = wrapped(&mut items, margin, y - 6.0, width, 13.0, FontWeight::Bold, INK, &format!("Мета: {}", content.service_names.join(", ")));

    // The QR, large and centred, with its short code and short link right beneath.
    let module = (280.0 / (qr.width + 2 * QUIET_ZONE) as f32).floor().max(4.0);
    let side = module * (qr.width + 2 * QUIET_ZONE) as f32;
    let qr_top = y - 4.0;
    let qr_x = (A4_WIDTH - side) / 2.0;
    items.push(Item::Qr { x: qr_x, y: qr_top - side, module });
    let mut y = qr_top - side - 26.0;
    let code = format!("Код: {}", content.short_code);
    let code_width = measure.text_width(20.0, FontWeight::Bold, &code);
    items.push(Item::Text { x: (A4_WIDTH - code_width) / 2.0, y, size: 20.0, weight: FontWeight::Bold, color: INK, text: code });
    y -= 18.0;
    let link = format!("Камера не працює? Відкрийте {}", content.short_link);
    let link_width = measure.text_width(10.0, FontWeight::Regular, &link);
    items.push(Item::Text { x: (A4_WIDTH - link_width) / 2.0, y, size: 10.0, weight: FontWeight::Regular, color: MUTED, text: link });

    // Documents on the left, the steps on the right.
    let panel_top = y - 18.0;
    let column = (width - 16.0) / 2.0;
    let mut left = panel_top - 22.0;
    items.push(Item::Text {
        x: margin + 12.0,
        y: left,
        size: 12.0,
        weight: FontWeight::Bold,
        color: INK,
        text: "Буде надіслано копії:".into(),
    });
    left -= 18.0;
    for d in content.documents {
        left =
            wrapped(&mut items, margin + 12.0, left, column - 24.0, 10.5, FontWeight::Regular, INK, &format!("• {}", d.title_uk())) - 3.0;
    }
    let right_x = margin + column + 16.0;
    let mut right = panel_top - 22.0;
    items.push(Item::Text {
        x: right_x + 12.0, y: right, size: 12.0, weight: FontWeight::Bold, color: INK, text: "Як поділитися:".into()
    });
    right -= 18.0;
    for (i, step) in STEPS.iter().enumerate() {
        right =
            wrapped(&mut items, right_x + 12.0, right, column - 24.0, 10.5, FontWeight::Regular, INK, &format!("{}. {step}", i + 1)) - 3.0;
    }
    let panel_bottom = left.min(right) - 6.0;
    // Panels go under their text: insert before it.
    let panels = [
        Item::Rect { x: margin, y: panel_bottom, w: column, h: panel_top - panel_bottom, color: PANEL },
        Item::Rect { x: right_x, y: panel_bottom, w: column, h: panel_top - panel_bottom, color: PANEL },
    ];
    let at = items.iter().position(|i| matches!(i, Item::Text { text, .. } if text == "Буде надіслано копії:")).unwrap_or(items.len());
    for (n, p) in panels.into_iter().enumerate() {
        items.insert(at + n, p);
    }
    wrapped(&mut items, margin, 56.0, width, 8.5, FontWeight::Regular, MUTED, FOOTNOTE);
    items
}

/// Greedy line breaking by advance widths; a word longer than a line stands alone.
fn wrap(measure: &PdfBuilder, text: &str, max: f32, size: f32, weight: FontWeight) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if !line.is_empty() && measure.text_width(size, weight, &candidate) > max {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn title(content: &PosterContent<'_>) -> String {
    format!("Дія.QR — {}", content.organisation_name)
}

pub fn poster_pdf(content: &PosterContent<'_>, created: DateTime<Utc>) -> Result<Vec<u8>, PosterError> {
    let qr = QrMatrix::new(content.link)?;
    let mut pdf = PdfBuilder::new(&title(content), created);
    pdf.new_page();
    for item in layout(content, &qr, &pdf) {
        match item {
            Item::Text { x, y, size, weight, color, text } => pdf.text(x, y, size, weight, color, &text),
            Item::Rect { x, y, w, h, color } => pdf.fill_rect(x, y, w, h, color),
            Item::Qr { x, y, module } => {
                let side = module * (qr.width + 2 * QUIET_ZONE) as f32;
                pdf.fill_rect(x, y, side, side, WHITE);
                for (mx, my, len) in qr.dark_runs() {
                    let left = x + (mx + QUIET_ZONE) as f32 * module;
                    let top = y + side - (my + QUIET_ZONE) as f32 * module;
                    pdf.fill_rect(left, top - module, len as f32 * module, module, INK);
                }
            }
        }
    }
    Ok(pdf.finish()?)
}

fn svg_color(c: Rgb) -> String {
    let to = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", to(c.0), to(c.1), to(c.2))
}

/// The same poster as SVG (1 unit = 1 pt, A4), text as text in DejaVu Sans.
pub fn poster_svg(content: &PosterContent<'_>) -> Result<String, PosterError> {
    let qr = QrMatrix::new(content.link)?;
    let measure = PdfBuilder::new("", Utc::now());
    let (w, h) = (A4_WIDTH, A4_HEIGHT);
    let mut svg = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 {w} {h}\">\n\
         <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n",
        html_escape::encode_text(&title(content))
    );
    for item in layout(content, &qr, &measure) {
        match item {
            Item::Text { x, y, size, weight, color, text } => svg.push_str(&format!(
                "<text x=\"{x:.2}\" y=\"{:.2}\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"{size}\"{} fill=\"{}\">{}</text>\n",
                h - y,
                if weight == FontWeight::Bold { " font-weight=\"bold\"" } else { "" },
                svg_color(color),
                html_escape::encode_text(&text)
            )),
            Item::Rect { x, y, w, h: rh, color } => {
                svg.push_str(&format!("<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{w:.2}\" height=\"{rh:.2}\" fill=\"{}\"/>\n", h - y - rh, svg_color(color)))
            }
            Item::Qr { x, y, module } => {
                let side = module * (qr.width + 2 * QUIET_ZONE) as f32;
                let (left, top) = (x, h - y - side);
                svg.push_str(&format!("<rect x=\"{left:.2}\" y=\"{top:.2}\" width=\"{side:.2}\" height=\"{side:.2}\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\""));
                for (mx, my, len) in qr.dark_runs() {
                    let px = left + (mx + QUIET_ZONE) as f32 * module;
                    let py = top + (my + QUIET_ZONE) as f32 * module;
                    svg.push_str(&format!("M{px:.2} {py:.2}h{:.2}v{module:.2}h-{:.2}z", len as f32 * module, len as f32 * module));
                }
                svg.push_str("\"/>\n");
            }
        }
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}
