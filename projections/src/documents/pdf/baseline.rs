//! The hand-written serializer lopdf replaced (ADR 0001, superseded by ADR 0005), kept behind
//! the `baseline-writer` feature only so that `benches/copies.rs` measures both writers in one
//! run. Nothing but that benchmark enables it; it goes once the comparison is recorded.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::AtomicBool;

use super::font::{self, FontFace, FontUse};
use super::{deflate, meta, num, FontWeight, PdfBuilder, PdfError, A4_HEIGHT, A4_WIDTH, COMPRESS_CONTENT_ABOVE};

/// When set, [`PdfBuilder::finish`] writes with the hand-written serializer.
pub static ENABLED: AtomicBool = AtomicBool::new(false);

/// The strings the hand-written writer formatted a face's objects from.
pub(in crate::documents::pdf) struct FontStrings {
    base_name: String,
    font_file: Vec<u8>,
    font_file_length: usize,
    descriptor: String,
    cid_to_gid: Vec<u8>,
    to_unicode: Vec<u8>,
    widths: String,
    default_width: i64,
}

impl FontStrings {
    #[allow(clippy::too_many_arguments)]
    pub(in crate::documents::pdf) fn new(
        base_name: &str,
        program: &[u8],
        cid_to_gid: &[u8],
        to_unicode: &str,
        level: u32,
        widths: &[i64],
        default_width: i64,
        face: &FontFace,
        stem_v: i64,
    ) -> Self {
        let mut w = String::from("[1 [");
        for (i, width) in widths.iter().enumerate() {
            if i > 0 {
                w.push(' ');
            }
            let _ = write!(w, "{width}");
        }
        w.push_str("]]");
        Self {
            base_name: base_name.to_owned(),
            font_file: deflate(program, level),
            font_file_length: program.len(),
            descriptor: face.descriptor_entries(stem_v),
            cid_to_gid: deflate(cid_to_gid, level),
            to_unicode: deflate(to_unicode.as_bytes(), level),
            widths: w,
            default_width,
        }
    }

    fn write(&self, w: &mut Writer) -> u32 {
        let font_file = w.stream(&format!("/Length1 {} /Filter /FlateDecode", self.font_file_length), &self.font_file);
        let descriptor =
            w.object(&format!("<< /Type /FontDescriptor /FontName /{} {} /FontFile2 {font_file} 0 R >>", self.base_name, self.descriptor));
        let cid_to_gid = w.stream("/Filter /FlateDecode", &self.cid_to_gid);
        let descendant = w.object(&format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor} 0 R /DW {} /W {} /CIDToGIDMap {cid_to_gid} 0 R >>",
            self.base_name, self.default_width, self.widths,
        ));
        let to_unicode = w.stream("/Filter /FlateDecode", &self.to_unicode);
        w.object(&format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{} /Encoding /Identity-H /DescendantFonts [{descendant} 0 R] /ToUnicode {to_unicode} 0 R >>",
            self.base_name
        ))
    }
}

fn embed(w: &mut Writer, weight: FontWeight, used: &FontUse) -> Result<u32, PdfError> {
    if used.repertoire_only() {
        return Ok(font::cached(weight)?.baseline.write(w));
    }
    let mut chars = font::repertoire().chars().to_vec();
    chars.extend_from_slice(used.extras());
    Ok(font::EmbeddedFont::build(font::face(weight)?, &chars, 6)?.baseline.write(w))
}

fn output_intent(icc: u32) -> String {
    format!(
        "<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) \
         /RegistryName (http://www.color.org) /Info (sRGB IEC61966-2.1) /DestOutputProfile {icc} 0 R >>"
    )
}

fn text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

impl PdfBuilder {
    /// Embeds the used fonts, writes all pages (at least one, blank if nothing was drawn; content
    /// longer than 16 KB compressed) and the PDF/A metadata, and returns the PDF bytes.
    pub(super) fn finish_handwritten(self) -> Result<Vec<u8>, PdfError> {
        let id = self.id.unwrap_or_else(|| self.content_hash());

        let mut w = Writer::new(64 * 1024);
        let catalog = w.reserve();
        let pages = w.reserve();

        let mut fonts = String::new();
        for weight in FontWeight::ALL {
            let used = &self.fonts[weight.index()];
            if !used.is_empty() {
                let font = embed(&mut w, weight, used)?;
                let _ = write!(fonts, "/{} {font} 0 R ", weight.resource_name());
            }
        }
        let resources = w.object(&format!("<< /Font << {fonts}>> >>"));

        let mut kids = String::new();
        // The fonts and the ICC profile, most of the file, were compressed once per process.
        // A page of ordinary length (a copy's is about 13 KB) is left uncompressed: even the
        // fastest zlib level would cost a third of the copy's rendering time, and hashing the
        // extra bytes for the seal costs microseconds. Longer pages are compressed.
        for content in &self.pages {
            let content = if content.len() > COMPRESS_CONTENT_ABOVE {
                w.stream("/Filter /FlateDecode", &deflate(content.as_bytes(), 1))
            } else {
                w.stream("", content.as_bytes())
            };
            let page = w.object(&format!("<< /Type /Page /Parent {pages} 0 R /Resources {resources} 0 R /Contents {content} 0 R >>"));
            let _ = write!(kids, "{page} 0 R ");
        }
        w.object_as(
            pages,
            &format!("<< /Type /Pages /Kids [{kids}] /Count {} /MediaBox [0 0 {} {}] >>", self.pages.len(), num(A4_WIDTH), num(A4_HEIGHT)),
        );

        // The Info dictionary and the XMP must say the same: one title, without what XML cannot hold.
        let title = meta::clean_title(&self.title);
        let metadata = w.stream("/Type /Metadata /Subtype /XML", meta::xmp(&title, self.created, self.id).as_bytes());
        let icc = w.stream("/N 3 /Filter /FlateDecode", &meta::srgb_icc().content);
        w.object_as(
            catalog,
            &format!("<< /Type /Catalog /Pages {pages} 0 R /Lang (uk) /Metadata {metadata} 0 R /OutputIntents [{}] >>", output_intent(icc)),
        );

        let date = meta::pdf_date(self.created);
        let title = if title.is_empty() { String::new() } else { format!("/Title {} ", text_string(&title)) };
        let info = w.object(&format!("<< {title}/Producer ({}) /CreationDate ({date}) /ModDate ({date}) >>", meta::PRODUCER));

        let mut hex_id = String::with_capacity(32);
        for b in id {
            let _ = write!(hex_id, "{b:02X}");
        }
        Ok(w.finish(&format!("/Root {catalog} 0 R /Info {info} 0 R /ID [<{hex_id}> <{hex_id}>]")))
    }
}

pub(super) struct Writer {
    out: Vec<u8>,
    /// Byte offset of each object, by number - 1 (`None`: reserved, not yet written).
    offsets: Vec<Option<usize>>,
}

impl Writer {
    /// A file with the PDF 1.7 header and the binary comment that marks it as binary.
    pub(super) fn new(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        Self { out, offsets: Vec::with_capacity(32) }
    }

    /// A number for an object written later with [`Self::object_as`] or [`Self::stream_as`].
    pub(super) fn reserve(&mut self) -> u32 {
        self.offsets.push(None);
        self.offsets.len() as u32
    }

    fn begin(&mut self, id: u32) {
        let slot = &mut self.offsets[id as usize - 1];
        debug_assert!(slot.is_none(), "object {id} written twice");
        *slot = Some(self.out.len());
        let _ = writeln!(self.out, "{id} 0 obj");
    }

    /// Writes a non-stream object (`body` is its PDF syntax); returns its number.
    pub(super) fn object(&mut self, body: &str) -> u32 {
        let id = self.reserve();
        self.object_as(id, body);
        id
    }

    pub(super) fn object_as(&mut self, id: u32, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// Writes a stream whose dictionary holds `/Length` and the entries in `dict`.
    pub(super) fn stream(&mut self, dict: &str, data: &[u8]) -> u32 {
        let id = self.reserve();
        self.stream_as(id, dict, data);
        id
    }

    pub(super) fn stream_as(&mut self, id: u32, dict: &str, data: &[u8]) {
        self.begin(id);
        let _ = write!(self.out, "<< /Length {} {dict} >>\nstream\n", data.len());
        self.out.extend_from_slice(data);
        // The end-of-line before `endstream` is not part of the data (PDF/A requires it).
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// The cross-reference table and trailer; `trailer` holds the entries besides `/Size`.
    pub(super) fn finish(mut self, trailer: &str) -> Vec<u8> {
        let xref = self.out.len();
        let _ = write!(self.out, "xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len() + 1);
        for offset in &self.offsets {
            debug_assert!(offset.is_some(), "an object was reserved and never written");
            // A reserved number never written is listed as free rather than pointing nowhere.
            match offset {
                Some(o) => {
                    let _ = write!(self.out, "{o:010} 00000 n\r\n");
                }
                None => self.out.extend_from_slice(b"0000000000 00001 f\r\n"),
            }
        }
        let _ = write!(self.out, "trailer\n<< /Size {} {trailer} >>\nstartxref\n{xref}\n%%EOF\n", self.offsets.len() + 1);
        self.out
    }
}
