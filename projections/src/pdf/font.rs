//! The embedded DejaVu faces: parsed once per process, subset and written as
//! Type0/CIDFontType2 fonts per document.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use lopdf::{dictionary, Document, Object, ObjectId, Stream, StringFormat};
use ttf_parser::{Face, GlyphId};

use super::{FontWeight, PdfError};

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A parsed face plus the metrics the PDF font dictionaries need.
pub(super) struct FontFace {
    data: &'static [u8],
    face: Face<'static>,
    /// PostScript name, used (with a subset tag) as BaseFont / FontName.
    ps_name: String,
    units_per_em: f32,
}

impl FontFace {
    fn parse(data: &'static [u8], fallback_name: &str) -> Result<Self, String> {
        let face = Face::parse(data, 0).map_err(|e| e.to_string())?;
        let ps_name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            // A PDF name must stay plain ASCII without delimiters.
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .unwrap_or_else(|| fallback_name.to_owned());
        let units_per_em = f32::from(face.units_per_em());
        Ok(Self { data, face, ps_name, units_per_em })
    }

    /// Glyph for a character; characters the font lacks get `.notdef` (glyph 0).
    pub(super) fn glyph(&self, c: char) -> GlyphId {
        self.face.glyph_index(c).unwrap_or(GlyphId(0))
    }

    /// Advance of a glyph in 1/1000 em (PDF glyph space).
    pub(super) fn advance_milli(&self, glyph: GlyphId) -> f32 {
        let advance = self.face.glyph_hor_advance(glyph).unwrap_or(0);
        f32::from(advance) * 1000.0 / self.units_per_em
    }

    /// Advance of a character in 1/1000 em.
    pub(super) fn char_advance_milli(&self, c: char) -> f32 {
        self.advance_milli(self.glyph(c))
    }

    fn to_milli(&self, units: i16) -> i64 {
        (f32::from(units) * 1000.0 / self.units_per_em).round() as i64
    }
}

/// The face for a weight, parsed on first use and shared by every builder in the
/// process (parsing is cheap, but builders may be created thousands of times a second).
pub(super) fn face(weight: FontWeight) -> Result<&'static FontFace, PdfError> {
    static REGULAR: OnceLock<Result<FontFace, String>> = OnceLock::new();
    static BOLD: OnceLock<Result<FontFace, String>> = OnceLock::new();
    let (cell, data, name) = match weight {
        FontWeight::Regular => (&REGULAR, REGULAR_TTF, "DejaVuSans"),
        FontWeight::Bold => (&BOLD, BOLD_TTF, "DejaVuSans-Bold"),
    };
    cell.get_or_init(|| FontFace::parse(data, name)).as_ref().map_err(|reason| PdfError::FontParse { font: name, reason: reason.clone() })
}

/// The characters one document shows in one face. Each distinct character gets
/// its own CID (1, 2, …, in first-use order) so that ToUnicode can map every CID
/// back to exactly one character — even when several characters share a glyph or
/// the font lacks them and they all fall back to `.notdef`.
#[derive(Default)]
pub(super) struct FontUse {
    cids: HashMap<char, u16>,
    /// `chars[i]` is the character of CID `i + 1`.
    chars: Vec<char>,
}

impl FontUse {
    /// The CID for a character, allocating one on first use.
    pub(super) fn cid(&mut self, c: char) -> u16 {
        if let Some(&cid) = self.cids.get(&c) {
            return cid;
        }
        // CIDs are 16-bit; a document using more than 65 534 distinct characters
        // in one face shows the rest as .notdef (CID 0) rather than failing.
        let Ok(cid) = u16::try_from(self.chars.len() + 1) else { return 0 };
        if cid == u16::MAX {
            return 0;
        }
        self.chars.push(c);
        self.cids.insert(c, cid);
        cid
    }

    pub(super) fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }
}

/// Subsets `face` to the used characters and adds the Type0 font with its
/// descendant, descriptor, font file, CIDToGIDMap and ToUnicode to `doc`.
pub(super) fn embed(doc: &mut Document, face: &FontFace, used: &FontUse) -> Result<ObjectId, PdfError> {
    let glyphs: Vec<GlyphId> = used.chars.iter().map(|&c| face.glyph(c)).collect();

    // The subset renumbers glyphs in the order they are first remapped (0 stays
    // .notdef, composite components are appended after ours), and the remapper we
    // keep reports the same numbers the subset uses.
    let mut remapper = subsetter::GlyphRemapper::new();
    let subset_gids: Vec<u16> = glyphs.iter().map(|g| remapper.remap(g.0)).collect();
    let subset = subsetter::subset(face.data, 0, &remapper).map_err(|source| PdfError::Subset { font: face.ps_name.clone(), source })?;

    let base_name = format!("{}+{}", subset_tag(&face.ps_name, &used.chars), face.ps_name);

    // CIDToGIDMap: big-endian subset glyph id per CID, CID 0 -> .notdef.
    let mut cid_to_gid = Vec::with_capacity((subset_gids.len() + 1) * 2);
    cid_to_gid.extend_from_slice(&0u16.to_be_bytes());
    for gid in &subset_gids {
        cid_to_gid.extend_from_slice(&gid.to_be_bytes());
    }

    // Widths of CIDs 1..=n as one run; CID 0 falls back to DW.
    let widths: Vec<Object> = glyphs.iter().map(|&g| width_object(face.advance_milli(g))).collect();

    let mut font_file = Stream::new(dictionary! { "Length1" => subset.len() as i64 }, subset);
    // Compressed in place so `Document::compress` leaves it alone (it already has a Filter).
    font_file.compress()?;
    let font_file_id = doc.add_object(font_file);

    let ttf = &face.face;
    let bbox = ttf.global_bounding_box();
    let cap_height = ttf.capital_height().unwrap_or_else(|| ttf.ascender());
    // Rough stem width from the weight class, as most PDF producers do.
    let stem_v = 10 + 220 * (i64::from(ttf.weight().to_number()).clamp(100, 900) - 50) / 900;
    let descriptor_id = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => Object::Name(base_name.clone().into_bytes()),
        // Non-symbolic: the glyphs are ordinary Latin/Cyrillic text.
        "Flags" => 32,
        "FontBBox" => vec![
            face.to_milli(bbox.x_min).into(),
            face.to_milli(bbox.y_min).into(),
            face.to_milli(bbox.x_max).into(),
            face.to_milli(bbox.y_max).into(),
        ],
        "ItalicAngle" => Object::Real(ttf.italic_angle()),
        "Ascent" => face.to_milli(ttf.ascender()),
        "Descent" => face.to_milli(ttf.descender()),
        "CapHeight" => face.to_milli(cap_height),
        "StemV" => stem_v,
        "FontFile2" => font_file_id,
    });

    let cid_to_gid_id = doc.add_object(Stream::new(dictionary! {}, cid_to_gid));
    let descendant_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => Object::Name(base_name.clone().into_bytes()),
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor_id,
        "DW" => width_object(face.advance_milli(GlyphId(0))),
        "W" => vec![Object::Integer(1), Object::Array(widths)],
        "CIDToGIDMap" => cid_to_gid_id,
    });

    let to_unicode_id = doc.add_object(Stream::new(dictionary! {}, to_unicode_cmap(&used.chars).into_bytes()));

    Ok(doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => Object::Name(base_name.into_bytes()),
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![descendant_id.into()],
        "ToUnicode" => to_unicode_id,
    }))
}

/// A width in 1/1000 em, as an integer when whole to keep the array short.
fn width_object(milli: f32) -> Object {
    let rounded = (milli * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        Object::Integer(rounded as i64)
    } else {
        Object::Real(rounded)
    }
}

/// Six upper-case letters derived from the font and its character set, so the
/// same subset always gets the same tag and different subsets (almost surely) differ.
fn subset_tag(ps_name: &str, chars: &[char]) -> String {
    // FNV-1a: tiny, deterministic across runs and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = ps_name.bytes().chain(chars.iter().flat_map(|c| u32::from(*c).to_le_bytes()));
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (0..6)
        .map(|_| {
            let letter = char::from(b'A' + (hash % 26) as u8);
            hash /= 26;
            letter
        })
        .collect()
}

/// A ToUnicode CMap mapping CID `i + 1` to `chars[i]`.
fn to_unicode_cmap(chars: &[char]) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n\
         12 dict begin\n\
         begincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n\
         /CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    // bfchar sections hold at most 100 entries each.
    for (chunk_index, chunk) in chars.chunks(100).enumerate() {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (i, c) in chunk.iter().enumerate() {
            let cid = chunk_index * 100 + i + 1;
            let mut utf16 = [0u16; 2];
            let units: String = c.encode_utf16(&mut utf16).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(cmap, "<{cid:04X}> <{units}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

/// Info-dictionary text string: UTF-16BE with a byte-order mark, so any script survives.
pub(super) fn text_string(text: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    Object::String(bytes, StringFormat::Hexadecimal)
}
