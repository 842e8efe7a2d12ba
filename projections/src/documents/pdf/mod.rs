//! A4 PDF pages with embedded, subset Unicode fonts (Ukrainian text that pdftotext extracts),
//! written as PDF/A-2b.
//!
//! Drawing calls append PDF content operators to the current page straight away;
//! text is written as 2-byte CIDs (`<0001000A> Tj`) of a Type0 font with
//! Identity-H encoding. The fonts are DejaVu Sans (Regular and Bold), compiled into the binary,
//! embedded as CIDFontType2 subsets with a ToUnicode CMap. Each face is subset once per process
//! to a fixed repertoire of characters (Latin, Cyrillic with Ukrainian letters, the usual
//! punctuation and signs) whose finished objects every document reuses; a document showing
//! other characters gets a subset of its own for that face (see `font`).
//!
//! Each file is PDF/A-2b by construction: the Info dictionary and an XMP packet with the same
//! title and dates and the PDF/A identification, an sRGB output intent, a file identifier,
//! fonts embedded, no transparency, no encryption (checked in tests with pikepdf's PDF/A
//! validator, built from veraPDF's rules, where it is installed).
//!
//! The file is built as lopdf objects and written by lopdf. Most of it is the same font streams
//! in every document: they are compressed once per process and copied in as prebuilt objects.

mod font;
mod meta;
pub mod read;
mod ttf;

use std::hash::{Hash, Hasher};
use std::io::Write as _;

use chrono::{DateTime, Utc};
use lopdf::xref::XrefType;
use lopdf::{dictionary, Dictionary, Document, Object, Stream, StringFormat};

use font::FontUse;

/// zlib-compresses `data` (for `/Filter /FlateDecode`).
fn deflate(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::new(level));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// A PDF real as lopdf writes it, rounded to at most three decimals like the page content
/// (0 for NaN and the infinities, which PDF cannot express).
fn pdf_real(v: f32) -> Object {
    if !v.is_finite() {
        return Object::Integer(0);
    }
    let rounded = (f64::from(v) * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 {
        Object::Integer(rounded as i64)
    } else {
        Object::Real(rounded as f32)
    }
}

/// A PDF text string: UTF-16BE with a byte-order mark, as hex (what pdfinfo and XMP tools read
/// as Unicode whatever the characters).
fn text_string(text: &str) -> Object {
    let mut bytes = Vec::with_capacity(2 + text.len() * 2);
    bytes.extend_from_slice(&[0xFE, 0xFF]);
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// A4 width in points.
pub const A4_WIDTH: f32 = 595.28;
/// A4 height in points.
pub const A4_HEIGHT: f32 = 841.89;

/// Line height of [`PdfBuilder::paragraph`], relative to the font size.
const LINE_HEIGHT: f32 = 1.3;

/// Page content streams longer than this are compressed (see [`PdfBuilder::finish`]).
const COMPRESS_CONTENT_ABOVE: usize = 16 * 1024;

/// Face of the embedded DejaVu Sans family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontWeight {
    Regular,
    Bold,
}

impl FontWeight {
    /// Resource name of the face in page resources.
    fn resource_name(self) -> &'static str {
        match self {
            FontWeight::Regular => "F1",
            FontWeight::Bold => "F2",
        }
    }

    fn font_name(self) -> &'static str {
        match self {
            FontWeight::Regular => "DejaVuSans",
            FontWeight::Bold => "DejaVuSans-Bold",
        }
    }

    fn index(self) -> usize {
        match self {
            FontWeight::Regular => 0,
            FontWeight::Bold => 1,
        }
    }

    const ALL: [FontWeight; 2] = [FontWeight::Regular, FontWeight::Bold];
}

/// A colour with components in `0.0..=1.0` (out-of-range values are clamped).
#[derive(Clone, Copy, Debug)]
pub struct Rgb(pub f32, pub f32, pub f32);

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// An embedded font is unreadable (a build problem, not an input problem).
    #[error("cannot parse the embedded font {font}: {reason}")]
    FontParse { font: &'static str, reason: String },
    /// The subsetter rejected the font.
    #[error("cannot subset the font {font}: {source}")]
    Subset {
        font: String,
        #[source]
        source: subsetter::Error,
    },
    /// Serialising the document failed.
    #[error("cannot write the PDF document: {0}")]
    Write(#[from] std::io::Error),
}

/// Builds a PDF document page by page; see the module docs.
pub struct PdfBuilder {
    title: String,
    created: DateTime<Utc>,
    /// Content stream of each page.
    pages: Vec<String>,
    /// Characters used per face, indexed by [`FontWeight::index`].
    fonts: [FontUse; 2],
    /// The file identifier, if the caller chose one.
    id: Option<[u8; 16]>,
    /// First failure while drawing (only possible if an embedded font fails to
    /// parse); drawing methods stay infallible and `finish` reports it.
    error: Option<PdfError>,
}

impl PdfBuilder {
    /// A document without pages; `title` and `created` go into the Info dictionary and the XMP
    /// metadata.
    pub fn new(title: &str, created: DateTime<Utc>) -> Self {
        Self { title: title.to_owned(), created, pages: Vec::new(), fonts: Default::default(), id: None, error: None }
    }

    /// Builds the process-wide font objects now rather than in the first [`Self::finish`]
    /// (a few milliseconds), e.g. at start-up. Optional.
    pub fn prepare_fonts() -> Result<(), PdfError> {
        for weight in FontWeight::ALL {
            font::cached(weight)?;
        }
        Ok(())
    }

    /// Sets the file identifier (the trailer's `/ID`, both halves), e.g. a copy's UUID. Without
    /// it the identifier is a hash of the title, the creation time and the page contents.
    pub fn set_document_id(&mut self, id: [u8; 16]) {
        self.id = Some(id);
    }

    /// Starts a new A4 page; later drawing goes onto it. Drawing before the first
    /// call starts a page implicitly.
    pub fn new_page(&mut self) {
        self.pages.push(String::with_capacity(8 * 1024));
    }

    /// Content stream of the current page, starting one if there is none yet.
    fn page(&mut self) -> &mut String {
        if self.pages.is_empty() {
            self.new_page();
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Draws one line of text; `y` is the baseline, measured from the page bottom.
    /// Control characters (including line breaks) are skipped; use [`Self::paragraph`]
    /// for multi-line text.
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: FontWeight, color: Rgb, text: &str) {
        if !text.chars().any(|c| !c.is_control()) {
            return;
        }
        if let Err(e) = font::face(weight) {
            self.error.get_or_insert(e);
        }
        if self.pages.is_empty() {
            self.new_page();
        }
        let Self { pages, fonts, .. } = self;
        let Some(page) = pages.last_mut() else { return };
        push_color(page, color);
        page.push_str(" rg\nBT /");
        page.push_str(weight.resource_name());
        page.push(' ');
        push_num(page, size);
        page.push_str(" Tf ");
        push_num(page, x);
        page.push(' ');
        push_num(page, y);
        page.push_str(" Td <");
        let used = &mut fonts[weight.index()];
        for c in text.chars().filter(|c| !c.is_control()) {
            push_hex4(page, used.cid(c));
        }
        page.push_str("> Tj ET\n");
    }

    /// Advance width of `text` in points (no kerning), as [`Self::text`] would draw it.
    pub fn text_width(&self, size: f32, weight: FontWeight, text: &str) -> f32 {
        let Ok(face) = font::face(weight) else { return 0.0 };
        let milli: f32 = text.chars().filter(|c| !c.is_control()).map(|c| face.char_advance_milli(c)).sum();
        milli * size / 1000.0
    }

    /// Wraps by advance widths at spaces (a single over-long word is broken by characters); draws lines going down from y with line height 1.3*size; returns the baseline y below the last line.
    ///
    /// `\n` starts a new line; an empty line still takes its line height.
    pub fn paragraph(&mut self, x: f32, y: f32, max_width: f32, size: f32, weight: FontWeight, color: Rgb, text: &str) -> f32 {
        let line_height = LINE_HEIGHT * size;
        let mut baseline = y;
        for line in self.wrap(max_width, size, weight, text) {
            self.text(x, baseline, size, weight, color, &line);
            baseline -= line_height;
        }
        baseline
    }

    /// The lines [`Self::paragraph`] would draw: greedy line breaking of `text` into lines no
    /// wider than `max_width` (so a caller can measure a block before drawing it: it takes
    /// `lines.len() * 1.3 * size` points).
    pub fn wrap(&self, max_width: f32, size: f32, weight: FontWeight, text: &str) -> Vec<String> {
        let space = self.text_width(size, weight, " ");
        let mut lines = Vec::new();
        for hard_line in text.split('\n') {
            let mut line = String::new();
            let mut line_width = 0.0;
            // Only ordinary spaces and tabs break, so a no-break space keeps "№ 5" together.
            for word in hard_line.split([' ', '\t']).filter(|w| !w.is_empty()) {
                let word_width = self.text_width(size, weight, word);
                if !line.is_empty() && line_width + space + word_width <= max_width {
                    line.push(' ');
                    line.push_str(word);
                    line_width += space + word_width;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if word_width <= max_width {
                    line.push_str(word);
                    line_width = word_width;
                    continue;
                }
                // Too long for any line: break between characters, at least one per line.
                line_width = 0.0;
                for c in word.chars() {
                    let c_width = self.text_width(size, weight, c.encode_utf8(&mut [0; 4]));
                    if !line.is_empty() && line_width + c_width > max_width {
                        lines.push(std::mem::take(&mut line));
                        line_width = 0.0;
                    }
                    line.push(c);
                    line_width += c_width;
                }
            }
            lines.push(line);
        }
        lines
    }

    /// Fills a rectangle whose lower-left corner is (`x`, `y`).
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let page = self.page();
        push_color(page, color);
        page.push_str(" rg\n");
        push_nums(page, &[x, y, w, h]);
        page.push_str(" re f\n");
    }

    /// Strokes the outline of a rectangle whose lower-left corner is (`x`, `y`).
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, line_width: f32, color: Rgb) {
        let page = self.page();
        push_color(page, color);
        page.push_str(" RG ");
        push_num(page, line_width);
        page.push_str(" w\n");
        push_nums(page, &[x, y, w, h]);
        page.push_str(" re S\n");
    }

    /// Strokes a straight line from (`x1`, `y1`) to (`x2`, `y2`).
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, line_width: f32, color: Rgb) {
        let page = self.page();
        push_color(page, color);
        page.push_str(" RG ");
        push_num(page, line_width);
        page.push_str(" w\n");
        push_nums(page, &[x1, y1]);
        page.push_str(" m ");
        push_nums(page, &[x2, y2]);
        page.push_str(" l S\n");
    }

    /// Draws a QR code (or any square module matrix) as black filled squares: `modules` holds
    /// `width` rows of `width` modules, top row first, `true` for dark; the symbol fills the
    /// square of side `size` whose lower-left corner is (`x`, `y`). Only dark modules are
    /// drawn: leave the quiet zone (four modules) around it light. A matrix of the wrong
    /// length draws nothing.
    pub fn qr(&mut self, x: f32, y: f32, size: f32, modules: &[bool], width: usize) {
        if width == 0 || modules.len() != width * width || size.is_nan() || size <= 0.0 {
            return;
        }
        let module = size / width as f32;
        let page = self.page();
        // One module = one unit, rows counted downwards from the top edge.
        page.push_str("q\n");
        push_nums(page, &[module, 0.0, 0.0, -module, x, y + size]);
        page.push_str(" cm 0 0 0 rg\n");
        for (row, cells) in modules.chunks(width).enumerate() {
            // One rectangle per horizontal run of dark modules.
            let mut col = 0;
            while col < width {
                if !cells[col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < width && cells[col] {
                    col += 1;
                }
                push_uint(page, start as u64);
                page.push(' ');
                push_uint(page, row as u64);
                page.push(' ');
                push_uint(page, (col - start) as u64);
                page.push_str(" 1 re\n");
            }
        }
        page.push_str("f\nQ\n");
    }

    /// Embeds the used fonts, writes all pages (at least one, blank if nothing was drawn; content
    /// longer than 16 KB compressed) and the PDF/A metadata, and returns the PDF bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, PdfError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.pages.is_empty() {
            self.new_page();
        }
        let id = self.id.unwrap_or_else(|| self.content_hash());

        let mut doc = Document::with_version("1.7");
        // A classic cross-reference table: what every checker reads, and no stream to build.
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let pages_id = doc.new_object_id();

        let mut fonts = Dictionary::new();
        for weight in FontWeight::ALL {
            let used = &self.fonts[weight.index()];
            if !used.is_empty() {
                fonts.set(weight.resource_name(), font::embed(&mut doc, weight, used)?);
            }
        }
        let resources = doc.add_object(dictionary! { "Font" => fonts });

        let mut kids = Vec::with_capacity(self.pages.len());
        let page_count = self.pages.len() as i64;
        // The fonts and the ICC profile, most of the file, were compressed once per process.
        // A page of ordinary length (a copy's is about 13 KB) is left uncompressed: even the
        // fastest zlib level would cost a third of the copy's rendering time, and hashing the
        // extra bytes for the seal costs microseconds. Longer pages are compressed.
        for content in std::mem::take(&mut self.pages) {
            let mut stream = if content.len() > COMPRESS_CONTENT_ABOVE {
                Stream::new(dictionary! { "Filter" => "FlateDecode" }, deflate(content.as_bytes(), 1))
            } else {
                Stream::new(Dictionary::new(), content.into_bytes())
            };
            stream.allows_compression = false;
            let content = doc.add_object(stream);
            let page = doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Resources" => resources,
                "Contents" => content,
            });
            kids.push(Object::Reference(page));
        }
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => page_count,
                "MediaBox" => vec![0.into(), 0.into(), pdf_real(A4_WIDTH), pdf_real(A4_HEIGHT)],
            }),
        );

        // The Info dictionary and the XMP must say the same: one title, without what XML cannot hold.
        let title = meta::clean_title(&self.title);
        let mut metadata =
            Stream::new(dictionary! { "Type" => "Metadata", "Subtype" => "XML" }, meta::xmp(&title, self.created, self.id).into_bytes());
        metadata.allows_compression = false;
        let metadata = doc.add_object(metadata);
        let icc = doc.add_object(meta::srgb_icc().clone());
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
            "Lang" => Object::string_literal("uk"),
            "Metadata" => metadata,
            "OutputIntents" => vec![Object::Dictionary(meta::output_intent(icc))],
        });

        let date = Object::string_literal(meta::pdf_date(self.created));
        let mut info = Dictionary::new();
        if !title.is_empty() {
            info.set("Title", text_string(&title));
        }
        info.set("Producer", Object::string_literal(meta::PRODUCER));
        info.set("CreationDate", date.clone());
        info.set("ModDate", date);
        let info = doc.add_object(info);

        doc.trailer.set("Root", catalog);
        doc.trailer.set("Info", info);
        let id = Object::String(id.to_vec(), StringFormat::Hexadecimal);
        doc.trailer.set("ID", vec![id.clone(), id]);

        let mut out = Vec::with_capacity(64 * 1024);
        doc.save_to(&mut out)?;
        Ok(out)
    }

    /// A file identifier from the document's title, time and content.
    fn content_hash(&self) -> [u8; 16] {
        let mut id = [0u8; 16];
        for (half, seed) in id.chunks_mut(8).zip([0u8, 1]) {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (seed, &self.title, self.created.timestamp_micros(), &self.pages).hash(&mut h);
            half.copy_from_slice(&h.finish().to_be_bytes());
        }
        id
    }
}

/// Colour operands `r g b`, clamped to the valid range.
#[cfg(test)]
fn color_operands(color: Rgb) -> String {
    let mut s = String::new();
    push_color(&mut s, color);
    s
}

fn push_color(out: &mut String, Rgb(r, g, b): Rgb) {
    let c = |v: f32| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    push_nums(out, &[c(r), c(g), c(b)]);
}

/// A PDF number: at most three decimals, no exponent, and 0 for NaN/infinity
/// (which PDF cannot express).
#[cfg(test)]
fn num(v: f32) -> String {
    let mut s = String::new();
    push_num(&mut s, v);
    s
}

/// Appends [`num`] of `v` without allocating. Magnitudes are capped at 10^9.
fn push_num(out: &mut String, v: f32) {
    if !v.is_finite() {
        out.push('0');
        return;
    }
    let thousandths = (f64::from(v) * 1000.0).round().clamp(-1e12, 1e12) as i64;
    if thousandths < 0 {
        out.push('-');
    }
    let abs = thousandths.unsigned_abs();
    push_uint(out, abs / 1000);
    let mut frac = abs % 1000;
    if frac != 0 {
        out.push('.');
        let mut divisor = 100;
        while frac != 0 {
            out.push(char::from(b'0' + (frac / divisor) as u8));
            frac %= divisor;
            divisor /= 10;
        }
    }
}

/// Appends an unsigned integer in decimal.
fn push_uint(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// Appends numbers separated by spaces.
fn push_nums(out: &mut String, values: &[f32]) {
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_num(out, v);
    }
}

/// Appends a CID as four upper-case hex digits.
#[inline]
fn push_hex4(out: &mut String, v: u16) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((v >> shift) & 0xF)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
    const PARAGRAPH: &str = "Запрошуємо до «Готель “Палаццо”» у Києві: Ґудзь Євгенія, Їжакевич Іванна, \
        O’Коннор та Мар'яна з кімнати № 5 — “—” — отримали ключі 12–14 березня. \
        Ґанок, їжак, єнот, ікра: ґ є і ї Ґ Є І Ї. Будь ласка, збережіть цей документ до кінця \
        перебування; він підтверджує бронювання та оплату послуг готелю «Палаццо».";

    fn created() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-03-12T10:20:30Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    fn sample() -> Vec<u8> {
        let mut pdf = PdfBuilder::new("Копія документа № 5 — Ґудзь", created());
        pdf.new_page();
        pdf.fill_rect(40.0, 780.0, A4_WIDTH - 80.0, 30.0, Rgb(0.9, 0.93, 1.0));
        pdf.text(50.0, 790.0, 16.0, FontWeight::Bold, BLACK, "Підтвердження бронювання");
        pdf.line(40.0, 770.0, A4_WIDTH - 40.0, 770.0, 0.5, Rgb(0.2, 0.2, 0.2));
        let bottom = pdf.paragraph(50.0, 740.0, A4_WIDTH - 100.0, 11.0, FontWeight::Regular, BLACK, PARAGRAPH);
        pdf.stroke_rect(40.0, bottom, A4_WIDTH - 80.0, 760.0 - bottom, 1.0, Rgb(0.0, 0.3, 0.6));
        pdf.finish().expect("PDF is written")
    }

    /// Runs an external tool with `input` on stdin. A missing tool fails the test.
    fn run_tool(tool: &str, args: &[&str], input: &[u8]) -> (bool, String) {
        let child = Command::new(tool).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("`{tool}` is not installed: scripts/setup-machine installs every tool the tests use")
            }
            Err(e) => panic!("cannot run {tool}: {e}"),
        };
        // Write stdin from another thread so a tool that answers early cannot deadlock us.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().expect("tool runs");
        let _ = writer.join();
        let mut text = String::from_utf8(output.stdout).expect("tool prints UTF-8");
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    /// Runs a tool that needs a file path (qpdf, pdffonts, pdfinfo read no stdin).
    fn run_tool_on_file(tool: &str, args: &[&str], pdf: &[u8]) -> (bool, String) {
        let path = std::env::temp_dir().join(format!(
            "pdf-test-{}-{}-{tool}.pdf",
            std::process::id(),
            std::thread::current().name().unwrap_or("t").replace("::", "-")
        ));
        std::fs::write(&path, pdf).expect("temp file");
        let mut all_args: Vec<&str> = args.to_vec();
        let path_str = path.to_str().expect("utf-8 temp path").to_owned();
        all_args.push(&path_str);
        let result = run_tool(tool, &all_args, b"");
        let _ = std::fs::remove_file(&path);
        result
    }

    fn squash_whitespace(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn writes_a_pdf() {
        let bytes = sample();
        assert!(bytes.starts_with(b"%PDF-"));
        // Both faces, each embedded once.
        let plain = String::from_utf8_lossy(&bytes);
        assert_eq!(plain.matches("/FontFile2").count(), 2);
        assert!(plain.contains("+DejaVuSans-Bold"));
    }

    #[test]
    fn pdftotext_extracts_the_ukrainian_text_exactly() {
        let bytes = sample();
        let (ok, text) = run_tool("pdftotext", &["-enc", "UTF-8", "-", "-"], &bytes);
        assert!(ok, "pdftotext failed: {text}");
        let text = squash_whitespace(&text);
        assert!(text.contains("Підтвердження бронювання"), "{text}");
        assert!(text.contains(&squash_whitespace(PARAGRAPH)), "extracted:\n{text}");
        for word in ["«Готель", "“Палаццо”»", "Ґудзь", "Євгенія", "Їжакевич", "Іванна", "O’Коннор", "Мар'яна", "№", "“—”", "12–14"]
        {
            assert!(text.contains(word), "{word} missing from {text}");
        }
    }

    #[test]
    fn qpdf_check_passes() {
        let (ok, out) = run_tool_on_file("qpdf", &["--check"], &sample());
        assert!(ok, "qpdf --check failed:\n{out}");
        assert!(out.contains("No syntax or stream encoding errors"), "{out}");
    }

    #[test]
    fn pdffonts_reports_embedded_subsets_with_unicode() {
        let (ok, out) = run_tool_on_file("pdffonts", &[], &sample());
        assert!(ok, "pdffonts failed:\n{out}");
        // Columns: name, type (may contain spaces), encoding, emb, sub, uni, object, generation.
        let rows: Vec<Vec<&str>> = out.lines().skip(2).map(|l| l.split_whitespace().collect::<Vec<_>>()).filter(|r| r.len() >= 8).collect();
        assert_eq!(rows.len(), 2, "{out}");
        let mut names: Vec<&str> = Vec::new();
        for row in &rows {
            let n = row.len();
            assert_eq!(&row[n - 5..n - 2], &["yes", "yes", "yes"], "emb/sub/uni in:\n{out}");
            assert_eq!(row[n - 6], "Identity-H", "{out}");
            let (tag, name) = row[0].split_once('+').expect("subset tag");
            assert!(tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()), "{out}");
            names.push(name);
        }
        names.sort_unstable();
        assert_eq!(names, ["DejaVuSans", "DejaVuSans-Bold"]);
    }

    #[test]
    fn info_title_is_unicode() {
        let (ok, out) = run_tool_on_file("pdfinfo", &[], &sample());
        assert!(ok, "{out}");
        assert!(out.contains("Копія документа № 5 — Ґудзь"), "{out}");
        assert!(out.contains("Diia.QR"), "{out}");
        let pages = out.lines().find_map(|l| l.strip_prefix("Pages:")).map(str::trim);
        assert_eq!(pages, Some("1"), "{out}");
    }

    #[test]
    fn one_page_of_forty_lines_stays_small() {
        let mut pdf = PdfBuilder::new("Розмір", created());
        pdf.new_page();
        let mut y = A4_HEIGHT - 50.0;
        for i in 0..40 {
            let weight = if i % 10 == 0 { FontWeight::Bold } else { FontWeight::Regular };
            pdf.text(
                50.0,
                y,
                10.0,
                weight,
                BLACK,
                &format!("{i}. {}", &PARAGRAPH[..PARAGRAPH.char_indices().nth(90).map_or(0, |(i, _)| i)]),
            );
            y -= 18.0;
        }
        let bytes = pdf.finish().expect("PDF is written");
        eprintln!("40-line page: {} bytes", bytes.len());
        assert!(bytes.len() < 60 * 1024, "{} bytes", bytes.len());
    }

    #[test]
    fn missing_glyphs_fall_back_to_notdef_and_still_extract() {
        let mut pdf = PdfBuilder::new("", created());
        pdf.new_page();
        // DejaVu Sans has no CJK or emoji glyphs.
        pdf.text(50.0, 700.0, 12.0, FontWeight::Regular, BLACK, "Знак 中 і 😀 кінець");
        let bytes = pdf.finish().expect("PDF is written");
        let (ok, text) = run_tool("pdftotext", &["-enc", "UTF-8", "-", "-"], &bytes);
        assert!(ok, "{text}");
        assert_eq!(squash_whitespace(&text), "Знак 中 і 😀 кінець");
    }

    #[test]
    fn fonts_are_subset_once_across_pages() {
        let mut pdf = PdfBuilder::new("Дві сторінки", created());
        for page in ["Перша сторінка", "Друга сторінка"] {
            pdf.new_page();
            pdf.text(50.0, 700.0, 12.0, FontWeight::Regular, BLACK, page);
        }
        let bytes = pdf.finish().expect("PDF is written");
        let plain = String::from_utf8_lossy(&bytes);
        assert_eq!(plain.matches("/FontFile2").count(), 1);
        let (ok, text) = run_tool("pdftotext", &["-enc", "UTF-8", "-", "-"], &bytes);
        assert!(ok, "{text}");
        assert_eq!(squash_whitespace(&text), "Перша сторінка Друга сторінка");
        assert_eq!(text.matches('\u{c}').count(), 2, "two pages");
    }

    #[test]
    fn empty_document_is_one_blank_page() {
        let bytes = PdfBuilder::new("", created()).finish().expect("PDF is written");
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(!String::from_utf8_lossy(&bytes).contains("/FontFile2"));
        let (ok, out) = run_tool_on_file("qpdf", &["--check"], &bytes);
        assert!(ok, "{out}");
    }

    #[test]
    fn text_width_uses_font_advances() {
        let pdf = PdfBuilder::new("", created());
        let regular = pdf.text_width(10.0, FontWeight::Regular, "Ґудзь");
        let bold = pdf.text_width(10.0, FontWeight::Bold, "Ґудзь");
        assert!(regular > 15.0 && regular < 40.0, "{regular}");
        assert!(bold > regular);
        assert_eq!(pdf.text_width(20.0, FontWeight::Regular, "Ґудзь"), 2.0 * regular);
        assert_eq!(pdf.text_width(10.0, FontWeight::Regular, ""), 0.0);
    }

    #[test]
    fn paragraph_wraps_within_width_and_returns_next_baseline() {
        let mut pdf = PdfBuilder::new("", created());
        let max = 200.0;
        let lines = pdf.wrap(max, 11.0, FontWeight::Regular, PARAGRAPH);
        assert!(lines.len() > 3);
        for line in &lines {
            assert!(pdf.text_width(11.0, FontWeight::Regular, line) <= max, "{line}");
        }
        assert_eq!(squash_whitespace(&lines.join(" ")), squash_whitespace(PARAGRAPH));

        pdf.new_page();
        let y = pdf.paragraph(50.0, 700.0, max, 11.0, FontWeight::Regular, BLACK, PARAGRAPH);
        assert!((y - (700.0 - lines.len() as f32 * 1.3 * 11.0)).abs() < 1e-3);

        // An over-long word is broken by characters; nothing is lost.
        let long = "Надзвичайнодовгеслово".repeat(4);
        let pieces = pdf.wrap(60.0, 11.0, FontWeight::Bold, &format!("а {long} б"));
        assert!(pieces.len() > 4);
        assert_eq!(pieces.concat().replace(' ', ""), format!("а{long}б"));
        for piece in &pieces {
            assert!(pdf.text_width(11.0, FontWeight::Bold, piece) <= 60.0, "{piece}");
        }
        // Even a zero width terminates, one character per line.
        assert_eq!(pdf.wrap(0.0, 11.0, FontWeight::Regular, "абв").len(), 3);
    }

    #[test]
    fn numbers_are_valid_pdf_syntax() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(595.28), "595.28");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(f32::NAN), "0");
        assert_eq!(num(f32::INFINITY), "0");
        assert_eq!(color_operands(Rgb(2.0, -1.0, 0.5)), "1 0 0.5");
    }

    #[test]
    fn documents_carry_pdf_a_2b_metadata_matching_the_info_dictionary() {
        let bytes = sample();
        let plain = String::from_utf8_lossy(&bytes);
        assert!(plain.contains("<pdfaid:part>2</pdfaid:part>") && plain.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
        assert!(plain.contains("<rdf:li xml:lang=\"x-default\">Копія документа № 5 — Ґудзь</rdf:li>"));
        assert!(plain.contains("<xmp:CreateDate>2024-03-12T10:20:30+00:00</xmp:CreateDate>"));
        let doc = Document::load_mem(&bytes).expect("lopdf reads it back");
        let info = doc.trailer.get_deref(b"Info", &doc).and_then(Object::as_dict).expect("an Info dictionary");
        assert_eq!(info.get(b"CreationDate").and_then(Object::as_str).ok(), Some(&b"D:20240312102030+00'00'"[..]));
        assert_eq!(lopdf::decode_text_string(info.get(b"Title").expect("a title")).ok().as_deref(), Some("Копія документа № 5 — Ґудзь"));
        let catalog = doc.catalog().expect("a catalog");
        let intents = catalog.get_deref(b"OutputIntents", &doc).and_then(Object::as_array).expect("output intents");
        let intent = intents[0].as_dict().expect("an output intent");
        assert_eq!(intent.get(b"S").and_then(Object::as_name).ok(), Some(&b"GTS_PDFA1"[..]));
        let metadata = catalog.get_deref(b"Metadata", &doc).and_then(Object::as_stream).expect("XMP metadata");
        assert_eq!(metadata.dict.get(b"Subtype").and_then(Object::as_name).ok(), Some(&b"XML"[..]));
        // A file identifier: a content hash unless the caller sets one.
        let id = |doc: &Document| -> Vec<Vec<u8>> {
            let halves = doc.trailer.get(b"ID").and_then(Object::as_array).expect("a file identifier");
            halves.iter().map(|h| h.as_str().expect("a string").to_vec()).collect()
        };
        assert_eq!(id(&doc).len(), 2);
        assert_eq!(id(&doc)[0].len(), 16);
        assert_eq!(sample(), bytes, "the same input makes the same file");
        let mut pdf = PdfBuilder::new("", created());
        pdf.set_document_id([0xAB; 16]);
        let chosen = Document::load_mem(&pdf.finish().expect("PDF is written")).expect("lopdf reads it back");
        assert_eq!(id(&chosen), vec![vec![0xAB; 16]; 2]);

        let (ok, out) = run_tool_on_file("pdfinfo", &["-meta"], &bytes);
        assert!(ok, "{out}");
        assert!(out.contains("<pdfaid:part>2</pdfaid:part>"), "{out}");
    }

    #[test]
    fn qr_draws_one_rectangle_per_run_of_dark_modules() {
        let mut pdf = PdfBuilder::new("", created());
        #[rustfmt::skip]
        let modules = [
            true, true, false,
            false, true, true,
            true, false, true,
        ];
        pdf.qr(10.0, 20.0, 30.0, &modules, 3);
        // A matrix of the wrong length, or a degenerate size, draws nothing.
        pdf.qr(10.0, 20.0, 30.0, &modules[..8], 3);
        pdf.qr(10.0, 20.0, f32::NAN, &modules, 3);
        let page = &pdf.pages[0];
        assert_eq!(page, "q\n10 0 0 -10 10 50 cm 0 0 0 rg\n0 0 2 1 re\n1 1 2 1 re\n0 2 1 1 re\n2 2 1 1 re\nf\nQ\n");
        let bytes = pdf.finish().expect("PDF is written");
        let (ok, out) = run_tool_on_file("qpdf", &["--check"], &bytes);
        assert!(ok, "{out}");
    }

    #[test]
    fn long_pages_are_compressed_and_short_ones_are_not() {
        let mut pdf = PdfBuilder::new("", created());
        pdf.new_page();
        pdf.text(50.0, 700.0, 12.0, FontWeight::Regular, BLACK, "Коротка сторінка");
        pdf.new_page();
        for i in 0..140 {
            pdf.text(50.0, 800.0 - i as f32 * 5.5, 5.0, FontWeight::Regular, BLACK, "Довга сторінка, рядок за рядком");
        }
        let bytes = pdf.finish().expect("PDF is written");
        let plain = String::from_utf8_lossy(&bytes);
        assert!(plain.contains("Td <"), "the short page is plain text");
        let doc = Document::load_mem(&bytes).expect("lopdf reads it back");
        let compressed = doc
            .objects
            .values()
            .filter_map(|o| o.as_stream().ok())
            .filter(|s| s.filters().is_ok_and(|f| f == [&b"FlateDecode"[..]]))
            .count();
        assert_eq!(compressed, 3 + 1 + 1, "one font (program, CIDToGIDMap, ToUnicode), the ICC profile and the long page");
        let pages = doc.get_pages();
        let content = |page: u32| doc.get_page_content(pages[&page]);
        assert!(String::from_utf8_lossy(&content(1)).contains("Tj"));
        assert!(String::from_utf8_lossy(&content(2)).matches("Tj").count() == 140);
        let (ok, text) = run_tool("pdftotext", &["-enc", "UTF-8", "-", "-"], &bytes);
        assert!(ok, "{text}");
        assert_eq!(text.matches("Довга сторінка, рядок за рядком").count(), 140);
    }
}
