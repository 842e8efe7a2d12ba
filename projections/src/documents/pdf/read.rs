//! Reading a presented PDF with lopdf: the copy id it carries, where its revisions end, and the
//! byte span and role of each object, so that verification can say what changed after issue.
//!
//! Anyone may present a file, so this is an attack surface: the size is capped before parsing,
//! lopdf's own limits bound nesting and decompression, a panic inside the parser is caught and
//! becomes a refusal, and nothing here allocates in proportion to what a file *claims* (a
//! `/Length` of a gigabyte is only a number). `tests/corpus/pdf/` holds hostile and mutated
//! files that the tests run through [`open`].

use std::fmt;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use lopdf::xref::{XrefEntry, XrefRecovery};
use lopdf::{Document, LoadOptions, Object};
use uuid::Uuid;

/// Larger files are refused unread: a copy is under 100 KB.
pub const MAX_PRESENTED_BYTES: usize = 8 * 1024 * 1024;
/// No stream may decompress to more than this while reading.
const MAX_DECOMPRESSED_BYTES: usize = 4 * 1024 * 1024;
/// At most this many `%%EOF` markers are considered as ends of earlier revisions.
const MAX_REVISIONS: usize = 64;
/// At most this many objects are described.
const MAX_OBJECTS: usize = 10_000;

/// Why a presented file was not read; the messages are for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfRefusal {
    #[error("файл завеликий ({size} байтів, найбільше {MAX_PRESENTED_BYTES}): копії, які видає сервіс, менші за 100 КБ")]
    TooLarge { size: usize },
    #[error("це не PDF-файл: немає заголовка %PDF-")]
    NotPdf,
    #[error("PDF пошкоджено, його не вдалося прочитати: {0}")]
    Unreadable(String),
}

/// What an object is for, as far as the document's structure tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectRole {
    Catalog,
    Info,
    Metadata,
    PageTree,
    Page(u32),
    PageContent(u32),
    Font,
    ColourProfile,
    Other,
}

impl fmt::Display for ObjectRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Catalog => f.write_str("каталог документа"),
            Self::Info => f.write_str("відомості про документ (Info)"),
            Self::Metadata => f.write_str("метадані XMP"),
            Self::PageTree => f.write_str("дерево сторінок"),
            Self::Page(n) => write!(f, "сторінка {n}"),
            Self::PageContent(n) => write!(f, "вміст сторінки {n}"),
            Self::Font => f.write_str("шрифт"),
            Self::ColourProfile => f.write_str("колірний профіль"),
            Self::Other => f.write_str("інший об'єкт"),
        }
    }
}

/// One indirect object the (last) cross-reference table points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedObject {
    pub number: u32,
    /// From its offset to the end of its `endobj`.
    pub span: Range<usize>,
    pub role: ObjectRole,
}

impl PresentedObject {
    /// "об'єкт 7 (вміст сторінки 1)".
    pub fn describe(&self) -> String {
        format!("об'єкт {} ({})", self.number, self.role)
    }
}

/// A presented PDF as lopdf read it.
#[derive(Debug, Clone)]
pub struct PresentedPdf {
    /// The copy id: the XMP `xmpMM:DocumentID` (`uuid:…`), else the first half of the trailer's
    /// `/ID` when it is 16 bytes.
    pub copy_id: Option<Uuid>,
    /// True when the XMP and the trailer name different ids.
    pub copy_ids_disagree: bool,
    /// Where an earlier revision may end, oldest first: just after each `%%EOF` and again after
    /// its end-of-line, if any (writers differ on whether the line break belongs to the
    /// revision). An incremental update, or anything appended, follows one of them.
    pub earlier_revision_ends: Vec<usize>,
    pub objects: Vec<PresentedObject>,
    /// lopdf had to repair the cross-reference data: it does not match the file.
    pub xref_repaired: bool,
}

impl PresentedPdf {
    /// The objects that start at or after `offset`: what an update appended there added or replaced.
    pub fn objects_from(&self, offset: usize) -> impl Iterator<Item = &PresentedObject> {
        self.objects.iter().filter(move |o| o.span.start >= offset)
    }
}

/// Reads `bytes` as a PDF. Never panics; a file too large, without a PDF header, or that lopdf
/// cannot read is refused.
pub fn open(bytes: &[u8]) -> Result<PresentedPdf, PdfRefusal> {
    if bytes.len() > MAX_PRESENTED_BYTES {
        return Err(PdfRefusal::TooLarge { size: bytes.len() });
    }
    if find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_none() {
        return Err(PdfRefusal::NotPdf);
    }
    let options = LoadOptions { max_decompressed_size: Some(MAX_DECOMPRESSED_BYTES), ..LoadOptions::default() };
    // lopdf has no unsafe code and is fuzzed upstream; a panic on some input is still a refusal
    // of that input, not a crash of the verification service.
    let doc = catch_unwind(AssertUnwindSafe(|| Document::load_mem_with_options(bytes, options)))
        .map_err(|_| PdfRefusal::Unreadable("структура файлу суперечлива".into()))?
        .map_err(|e| PdfRefusal::Unreadable(e.to_string()))?;
    let read = catch_unwind(AssertUnwindSafe(|| describe(&doc, bytes)))
        .map_err(|_| PdfRefusal::Unreadable("структура файлу суперечлива".into()))?;
    Ok(read)
}

fn describe(doc: &Document, bytes: &[u8]) -> PresentedPdf {
    let xmp_id = metadata_document_id(doc);
    let trailer_id = trailer_document_id(doc);
    PresentedPdf {
        copy_id: xmp_id.or(trailer_id),
        copy_ids_disagree: matches!((xmp_id, trailer_id), (Some(a), Some(b)) if a != b),
        earlier_revision_ends: revision_ends(bytes),
        objects: object_spans(doc, bytes),
        xref_repaired: matches!(doc.xref_recovery, Some(XrefRecovery::Reconstructed | XrefRecovery::OffsetCorrected)),
    }
}

/// The possible ends of revisions before the last: after each `%%EOF`, with and without its
/// end-of-line, except a final one followed by nothing but white space.
fn revision_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"%%EOF") {
        let marker_end = from + at + 5;
        let mut end = marker_end;
        for eol in [b'\r', b'\n'] {
            if bytes.get(end) == Some(&eol) {
                end += 1;
            }
        }
        from = end;
        if bytes[end..].iter().all(u8::is_ascii_whitespace) {
            break;
        }
        ends.push(marker_end);
        if end != marker_end {
            ends.push(end);
        }
        if ends.len() >= MAX_REVISIONS {
            break;
        }
    }
    ends
}

/// Byte spans of the objects in the cross-reference table, each from its offset to the end of
/// the last `endobj` before the next object (or the end of the file), with its role.
fn object_spans(doc: &Document, bytes: &[u8]) -> Vec<PresentedObject> {
    let mut offsets: Vec<(usize, u32)> = doc
        .reference_table
        .entries
        .iter()
        .filter_map(|(&number, entry)| match entry {
            XrefEntry::Normal { offset, .. } if (*offset as usize) < bytes.len() => Some((*offset as usize, number)),
            _ => None,
        })
        .take(MAX_OBJECTS)
        .collect();
    offsets.sort_unstable();
    let roles = Roles::of(doc);
    let mut objects = Vec::with_capacity(offsets.len());
    for (i, &(start, number)) in offsets.iter().enumerate() {
        let limit = offsets.get(i + 1).map_or(bytes.len(), |&(next, _)| next);
        let end = rfind(&bytes[start..limit], b"endobj").map_or(limit, |at| start + at + 6);
        objects.push(PresentedObject { number, span: start..end, role: roles.of_object(number) });
    }
    objects
}

/// The structural role of the objects the catalog, the trailer and the pages point at.
struct Roles {
    known: Vec<(u32, ObjectRole)>,
}

impl Roles {
    fn of(doc: &Document) -> Self {
        let mut known = Vec::new();
        let mut add = |object: Option<&Object>, role: ObjectRole| {
            if let Some(Object::Reference((number, _))) = object {
                known.push((*number, role));
            }
        };
        add(doc.trailer.get(b"Root").ok(), ObjectRole::Catalog);
        add(doc.trailer.get(b"Info").ok(), ObjectRole::Info);
        if let Ok(catalog) = doc.catalog() {
            add(catalog.get(b"Metadata").ok(), ObjectRole::Metadata);
            add(catalog.get(b"Pages").ok(), ObjectRole::PageTree);
            if let Ok(intents) = catalog.get_deref(b"OutputIntents", doc).and_then(Object::as_array) {
                for intent in intents.iter().filter_map(|i| i.as_dict().ok()) {
                    add(intent.get(b"DestOutputProfile").ok(), ObjectRole::ColourProfile);
                }
            }
        }
        for (n, (&page_number, &page_id)) in doc.get_pages().iter().enumerate() {
            if n >= MAX_OBJECTS {
                break;
            }
            add(Some(&Object::Reference(page_id)), ObjectRole::Page(page_number));
            let Ok(page) = doc.get_dictionary(page_id) else { continue };
            match page.get(b"Contents") {
                Ok(Object::Array(parts)) => {
                    for part in parts.iter().take(MAX_OBJECTS) {
                        add(Some(part), ObjectRole::PageContent(page_number));
                    }
                }
                other => add(other.ok(), ObjectRole::PageContent(page_number)),
            }
        }
        let mut fonts = Vec::new();
        for (&(number, _), object) in doc.objects.iter().take(MAX_OBJECTS) {
            let dict = match object {
                Object::Dictionary(d) => d,
                Object::Stream(s) => &s.dict,
                _ => continue,
            };
            let is_font = matches!(dict.get(b"Type").and_then(Object::as_name), Ok(b"Font" | b"FontDescriptor"));
            if is_font {
                fonts.push(number);
                for key in [&b"FontFile2"[..], b"FontFile", b"FontFile3", b"ToUnicode", b"CIDToGIDMap", b"FontDescriptor"] {
                    if let Ok(Object::Reference((n, _))) = dict.get(key) {
                        fonts.push(*n);
                    }
                }
                if let Ok(Object::Array(descendants)) = dict.get(b"DescendantFonts") {
                    fonts.extend(descendants.iter().filter_map(|d| d.as_reference().ok()).map(|(n, _)| n));
                }
            }
        }
        known.extend(fonts.into_iter().map(|n| (n, ObjectRole::Font)));
        Self { known }
    }

    fn of_object(&self, number: u32) -> ObjectRole {
        self.known.iter().find(|(n, _)| *n == number).map_or(ObjectRole::Other, |&(_, role)| role)
    }
}

/// `uuid:…` in the XMP packet's `xmpMM:DocumentID`.
fn metadata_document_id(doc: &Document) -> Option<Uuid> {
    let catalog = doc.catalog().ok()?;
    let stream = catalog.get_deref(b"Metadata", doc).ok()?.as_stream().ok()?;
    let xmp = stream.get_plain_content_with_limit(MAX_DECOMPRESSED_BYTES).ok()?;
    let open = b"<xmpMM:DocumentID>";
    let start = find(&xmp, open)? + open.len();
    let end = start + find(&xmp[start..], b"</xmpMM:DocumentID>")?;
    let value = std::str::from_utf8(&xmp[start..end]).ok()?.trim();
    Uuid::parse_str(value.strip_prefix("uuid:").unwrap_or(value)).ok()
}

/// The first half of the trailer's `/ID`, when it is 16 bytes (how copies carry their id).
fn trailer_document_id(doc: &Document) -> Option<Uuid> {
    let halves = doc.trailer.get(b"ID").ok()?.as_array().ok()?;
    let first: [u8; 16] = halves.first()?.as_str().ok()?.try_into().ok()?;
    Some(Uuid::from_bytes(first))
}

/// The objects of a PDF this service made, each with a short digest of its bytes (16 hex digits
/// of SHA-256): what the registry keeps so that a later verification can name the objects of a
/// presented file that differ from the issued one.
pub fn object_digests(read: &PresentedPdf, bytes: &[u8]) -> Vec<(u32, String)> {
    read.objects.iter().map(|o| (o.number, short_digest(&bytes[o.span.clone()]))).collect()
}

/// 16 hex digits of SHA-256.
pub fn short_digest(bytes: &[u8]) -> String {
    let digest = openssl::sha::sha256(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
pub(crate) mod tests;
