//! The embedded DejaVu faces and their PDF font objects.
//!
//! **Fast path.** Every face is subset once per process to a fixed [repertoire](REPERTOIRE_RANGES)
//! — Latin with Latin-1 and Latin Extended-A (European names, car makes), the Cyrillic block
//! with Ґ ґ, and the punctuation, signs and symbols Ukrainian documents use. CID `n` is the
//! repertoire's `n`-th character in every face and every document, so the finished font objects
//! (the compressed font program, CIDToGIDMap, ToUnicode CMap and widths) are built once and
//! copied as bytes into each document that uses nothing else.
//!
//! **Other characters** get CIDs after the repertoire's, one per distinct character, in
//! first-use order. A face that shows any is subset for that document alone, to the repertoire
//! plus those characters (the same CIDs, so the page content does not change): slower, never
//! wrong. A character the font has no glyph for is drawn with the replacement glyph (U+FFFD, a
//! diamond with a question mark), never `.notdef`, and its ToUnicode entry still gives the
//! character itself, so the text extracts exactly.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId};

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};

use super::{deflate, FontWeight, PdfError};

static REGULAR_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The characters every process embeds, as inclusive ranges, in CID order.
const REPERTOIRE_RANGES: &[(char, char)] = &[
    // Basic Latin: letters, digits, ASCII punctuation.
    (' ', '~'),
    // Latin-1 Supplement (no-break space, « » · § ° × and accented letters) and Latin
    // Extended-A (Š, Č, Ł, Ő, …: European names, Škoda).
    ('\u{A0}', '\u{17F}'),
    // Cyrillic: Ukrainian (Є І Ї and the rest), Russian, Belarusian, Serbian, Macedonian.
    ('\u{400}', '\u{45F}'),
    ('Ґ', 'ґ'),
    // Modifier letter apostrophe, the Ukrainian apostrophe in names (Мар\u{2BC}яна).
    ('\u{2BC}', '\u{2BC}'),
    // General punctuation: dashes, quotes „ “ ” ‘ ’ ‚, daggers, bullet, ellipsis.
    ('\u{2010}', '\u{2027}'),
    // Narrow no-break space, per mille, primes, single guillemets.
    ('\u{202F}', '\u{2033}'),
    ('\u{2039}', '\u{203A}'),
    ('€', '€'),
    ('₴', '₴'),
    ('№', '№'),
    ('™', '™'),
    ('−', '−'),
    ('\u{FFFD}', '\u{FFFD}'),
];

/// The fixed repertoire: its characters in CID order and a quick CID lookup.
pub(super) struct Repertoire {
    /// `chars[i]` has CID `i + 1`.
    chars: Vec<char>,
    /// CID of every character below U+0500 (0: not in the repertoire).
    low: Vec<u16>,
    /// CIDs of the characters from U+0500 up, sorted by character.
    high: Vec<(char, u16)>,
}

/// Characters below this are looked up in a table.
const LOW: usize = 0x500;

impl Repertoire {
    fn new() -> Self {
        let chars: Vec<char> = REPERTOIRE_RANGES.iter().flat_map(|&(a, b)| a..=b).collect();
        let mut low = vec![0u16; LOW];
        let mut high = Vec::new();
        for (i, &c) in chars.iter().enumerate() {
            let cid = i as u16 + 1;
            match low.get_mut(c as usize) {
                Some(slot) => *slot = cid,
                None => high.push((c, cid)),
            }
        }
        high.sort_unstable();
        Self { chars, low, high }
    }

    /// The CID of a repertoire character.
    #[inline]
    pub(super) fn cid(&self, c: char) -> Option<u16> {
        match self.low.get(c as usize) {
            Some(&0) => None,
            Some(&cid) => Some(cid),
            None => self.high.binary_search_by_key(&c, |&(h, _)| h).ok().map(|i| self.high[i].1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.chars.len()
    }

    pub(super) fn chars(&self) -> &[char] {
        &self.chars
    }
}

pub(super) fn repertoire() -> &'static Repertoire {
    static REPERTOIRE: OnceLock<Repertoire> = OnceLock::new();
    REPERTOIRE.get_or_init(Repertoire::new)
}

/// A parsed face plus what the PDF font dictionaries and text measurement need.
pub(super) struct FontFace {
    data: &'static [u8],
    face: Face<'static>,
    /// PostScript name, used (with a subset tag) as BaseFont / FontName.
    ps_name: String,
    units_per_em: f32,
    /// Drawn for characters the font lacks.
    replacement: GlyphId,
    /// Advance of each repertoire CID in 1/1000 em (index = CID; 0 is unused).
    advances: Vec<f32>,
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
        let replacement = face.glyph_index('\u{FFFD}').unwrap_or(GlyphId(0));
        let mut this = Self { data, face, ps_name, units_per_em, replacement, advances: Vec::new() };
        let advances = std::iter::once(0.0).chain(repertoire().chars().iter().map(|&c| this.advance_milli(this.glyph(c)))).collect();
        this.advances = advances;
        Ok(this)
    }

    /// Glyph for a character; characters the font lacks get the replacement glyph.
    pub(super) fn glyph(&self, c: char) -> GlyphId {
        self.face.glyph_index(c).unwrap_or(self.replacement)
    }

    /// Advance of a glyph in 1/1000 em (PDF glyph space).
    fn advance_milli(&self, glyph: GlyphId) -> f32 {
        let advance = self.face.glyph_hor_advance(glyph).unwrap_or(0);
        f32::from(advance) * 1000.0 / self.units_per_em
    }

    /// Advance of a character in 1/1000 em.
    #[inline]
    pub(super) fn char_advance_milli(&self, c: char) -> f32 {
        match repertoire().cid(c) {
            Some(cid) => self.advances[usize::from(cid)],
            None => self.advance_milli(self.glyph(c)),
        }
    }

    fn to_milli(&self, units: i16) -> i64 {
        (f32::from(units) * 1000.0 / self.units_per_em).round() as i64
    }
}

/// The face for a weight, parsed on first use and shared by every builder in the process.
pub(super) fn face(weight: FontWeight) -> Result<&'static FontFace, PdfError> {
    static REGULAR: OnceLock<Result<FontFace, String>> = OnceLock::new();
    static BOLD: OnceLock<Result<FontFace, String>> = OnceLock::new();
    let (cell, data, name) = match weight {
        FontWeight::Regular => (&REGULAR, REGULAR_TTF, "DejaVuSans"),
        FontWeight::Bold => (&BOLD, BOLD_TTF, "DejaVuSans-Bold"),
    };
    cell.get_or_init(|| FontFace::parse(data, name)).as_ref().map_err(|reason| PdfError::FontParse { font: name, reason: reason.clone() })
}

/// The characters one document shows in one face beyond the repertoire.
#[derive(Default)]
pub(super) struct FontUse {
    used: bool,
    /// `extras[i]` has CID `repertoire().len() + 1 + i`.
    extras: Vec<char>,
    extra_cids: HashMap<char, u16>,
}

impl FontUse {
    /// The CID for a character, allocating one after the repertoire's on first use.
    #[inline]
    pub(super) fn cid(&mut self, c: char) -> u16 {
        self.used = true;
        let repertoire = repertoire();
        match repertoire.cid(c) {
            Some(cid) => cid,
            None => self.extra_cid(repertoire, c),
        }
    }

    #[cold]
    fn extra_cid(&mut self, repertoire: &Repertoire, c: char) -> u16 {
        if let Some(&cid) = self.extra_cids.get(&c) {
            return cid;
        }
        // CIDs are 16-bit; beyond 65 534 distinct characters in one face the rest show as the
        // replacement character (never a panic, never another character's glyph).
        match u16::try_from(repertoire.len() + 1 + self.extras.len()) {
            Ok(cid) if cid < u16::MAX => {
                self.extras.push(c);
                self.extra_cids.insert(c, cid);
                cid
            }
            _ => repertoire.cid('\u{FFFD}').unwrap_or(0),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.used
    }

    /// True when the face can be embedded from the process-wide cache.
    pub(super) fn repertoire_only(&self) -> bool {
        self.extras.is_empty()
    }

    pub(super) fn extras(&self) -> &[char] {
        &self.extras
    }
}

/// A face's finished font objects, as lopdf objects ready to be copied into a document: the
/// compressed streams and the dictionaries, whose references are filled in by [`Self::add_to`].
pub(super) struct EmbeddedFont {
    /// The slimmed subset, zlib-compressed (`/FontFile2`).
    font_file: Stream,
    /// The FontDescriptor without its `/FontFile2` reference.
    descriptor: Dictionary,
    /// Big-endian subset glyph per CID, zlib-compressed.
    cid_to_gid: Stream,
    /// The CIDFontType2 dictionary without its `/FontDescriptor` and `/CIDToGIDMap` references.
    descendant: Dictionary,
    /// ToUnicode CMap, zlib-compressed.
    to_unicode: Stream,
    /// The Type0 font without its `/DescendantFonts` and `/ToUnicode` references.
    type0: Dictionary,
}

/// A compressed stream with `entries` besides `/Length` and `/Filter /FlateDecode`. Its data is
/// already compressed, so lopdf must never compress it again.
fn deflated_stream(mut entries: Dictionary, data: &[u8], level: u32) -> Stream {
    entries.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    let mut stream = Stream::new(entries, deflate(data, level));
    stream.allows_compression = false;
    stream
}

impl EmbeddedFont {
    /// Subsets `face` to `chars` (CID `i + 1` is `chars[i]`) and builds the objects.
    fn build(face: &FontFace, chars: &[char], level: u32) -> Result<Self, PdfError> {
        let glyphs: Vec<GlyphId> = chars.iter().map(|&c| face.glyph(c)).collect();

        // The subset renumbers glyphs in the order they are first remapped (0 stays
        // .notdef, composite components are appended after ours), and the remapper we
        // keep reports the same numbers the subset uses.
        let mut remapper = subsetter::GlyphRemapper::new();
        let subset_gids: Vec<u16> = glyphs.iter().map(|g| remapper.remap(g.0)).collect();
        let subset =
            subsetter::subset(face.data, 0, &remapper).map_err(|source| PdfError::Subset { font: face.ps_name.clone(), source })?;
        let program = super::ttf::slim(&subset).unwrap_or(subset);

        let mut cid_to_gid = Vec::with_capacity((subset_gids.len() + 1) * 2);
        cid_to_gid.extend_from_slice(&0u16.to_be_bytes());
        for gid in &subset_gids {
            cid_to_gid.extend_from_slice(&gid.to_be_bytes());
        }

        // Widths of CIDs 1..=n as one run; whole thousandths of an em are exact enough (the
        // font's own advances differ by under half a unit).
        let widths: Vec<i64> = glyphs.iter().map(|&g| face.advance_milli(g).round() as i64).collect();
        let default_width = face.advance_milli(face.replacement).round() as i64;

        let ttf = &face.face;
        let bbox = ttf.global_bounding_box();
        let cap_height = ttf.capital_height().unwrap_or_else(|| ttf.ascender());
        // Rough stem width from the weight class, as most PDF producers do.
        let stem_v = 10 + 220 * (i64::from(ttf.weight().to_number()).clamp(100, 900) - 50) / 900;
        let base_name = format!("{}+{}", subset_tag(&face.ps_name, chars), face.ps_name);
        let name = |n: &str| Object::Name(n.as_bytes().to_vec());
        let font_bbox: Vec<Object> =
            [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max].into_iter().map(|v| Object::Integer(face.to_milli(v))).collect();
        // Non-symbolic (flag 6, value 32): the glyphs are ordinary Latin/Cyrillic text.
        let descriptor = dictionary! {
            "Type" => "FontDescriptor",
            "FontName" => name(&base_name),
            "Flags" => 32,
            "FontBBox" => font_bbox,
            "ItalicAngle" => super::pdf_real(ttf.italic_angle()),
            "Ascent" => face.to_milli(ttf.ascender()),
            "Descent" => face.to_milli(ttf.descender()),
            "CapHeight" => face.to_milli(cap_height),
            "StemV" => stem_v,
        };
        let descendant = dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType2",
            "BaseFont" => name(&base_name),
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"),
                "Supplement" => 0,
            },
            "DW" => default_width,
            "W" => vec![Object::Integer(1), Object::Array(widths.iter().map(|&w| Object::Integer(w)).collect())],
        };
        let type0 = dictionary! {
            "Type" => "Font",
            "Subtype" => "Type0",
            "BaseFont" => name(&base_name),
            "Encoding" => "Identity-H",
        };
        let to_unicode = to_unicode_cmap(chars);
        Ok(Self {
            font_file: deflated_stream(dictionary! { "Length1" => program.len() as i64 }, &program, level),
            descriptor,
            cid_to_gid: deflated_stream(Dictionary::new(), &cid_to_gid, level),
            descendant,
            to_unicode: deflated_stream(Dictionary::new(), to_unicode.as_bytes(), level),
            type0,
        })
    }

    /// Adds the Type0 font and its descendants to `doc`; returns the Type0 font's id.
    pub(super) fn add_to(&self, doc: &mut Document) -> ObjectId {
        let font_file = doc.add_object(self.font_file.clone());
        let mut descriptor = self.descriptor.clone();
        descriptor.set("FontFile2", font_file);
        let descriptor = doc.add_object(descriptor);
        let cid_to_gid = doc.add_object(self.cid_to_gid.clone());
        let mut descendant = self.descendant.clone();
        descendant.set("FontDescriptor", descriptor);
        descendant.set("CIDToGIDMap", cid_to_gid);
        let descendant = doc.add_object(descendant);
        let to_unicode = doc.add_object(self.to_unicode.clone());
        let mut type0 = self.type0.clone();
        type0.set("DescendantFonts", vec![Object::Reference(descendant)]);
        type0.set("ToUnicode", to_unicode);
        doc.add_object(type0)
    }
}

/// The process-wide font objects of a face over the repertoire, built on first use.
pub(super) fn cached(weight: FontWeight) -> Result<&'static EmbeddedFont, PdfError> {
    static REGULAR: OnceLock<Result<EmbeddedFont, String>> = OnceLock::new();
    static BOLD: OnceLock<Result<EmbeddedFont, String>> = OnceLock::new();
    let cell = match weight {
        FontWeight::Regular => &REGULAR,
        FontWeight::Bold => &BOLD,
    };
    let face = face(weight)?;
    cell.get_or_init(|| EmbeddedFont::build(face, repertoire().chars(), 9).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|reason| PdfError::FontParse { font: weight.font_name(), reason: reason.clone() })
}

/// The font objects for a face as one document uses it: the cached ones, or for a document
/// with characters beyond the repertoire, a subset made for it. Returns the Type0 font's id.
pub(super) fn embed(doc: &mut Document, weight: FontWeight, used: &FontUse) -> Result<ObjectId, PdfError> {
    if used.repertoire_only() {
        return Ok(cached(weight)?.add_to(doc));
    }
    let mut chars = repertoire().chars().to_vec();
    chars.extend_from_slice(used.extras());
    Ok(EmbeddedFont::build(face(weight)?, &chars, 6)?.add_to(doc))
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

/// A ToUnicode CMap mapping CID `i + 1` to `chars[i]`: runs of consecutive CIDs and
/// consecutive characters as `bfrange`, the rest as `bfchar`.
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
    // (first CID, last CID, first character). A range may only vary the last byte of both
    // the code and the (BMP) destination.
    let mut ranges: Vec<(usize, usize, char)> = Vec::new();
    let mut singles: Vec<(usize, char)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (first_cid, first) = (i + 1, chars[i]);
        let mut j = i;
        while j + 1 < chars.len() {
            let (cid, c) = (j + 1, u32::from(chars[j]));
            let next = u32::from(chars[j + 1]);
            if next != c + 1 || c > 0xFFFF || next > 0xFFFF || cid & 0xFF == 0xFF || c & 0xFF == 0xFF {
                break;
            }
            j += 1;
        }
        if j > i {
            ranges.push((first_cid, j + 1, first));
        } else {
            singles.push((first_cid, first));
        }
        i = j + 1;
    }
    let utf16 = |c: char| -> String {
        let mut units = [0u16; 2];
        c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect()
    };
    // Sections hold at most 100 entries each.
    for chunk in ranges.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfrange", chunk.len());
        for &(first, last, c) in chunk {
            let _ = writeln!(cmap, "<{first:04X}> <{last:04X}> <{}>", utf16(c));
        }
        cmap.push_str("endbfrange\n");
    }
    for chunk in singles.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for &(cid, c) in chunk {
            let _ = writeln!(cmap, "<{cid:04X}> <{}>", utf16(c));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_faces_have_a_glyph_for_every_repertoire_character() {
        for weight in FontWeight::ALL {
            let face = face(weight).unwrap();
            let missing: String = repertoire().chars().iter().filter(|&&c| face.face.glyph_index(c).is_none()).collect();
            assert_eq!(missing, "", "{weight:?} lacks these");
        }
    }

    #[test]
    fn repertoire_lookup_agrees_with_its_list() {
        let r = repertoire();
        for (i, &c) in r.chars().iter().enumerate() {
            assert_eq!(r.cid(c), Some(i as u16 + 1), "{c:?}");
        }
        for c in ['\u{0}', '\u{7F}', '中', '😀', '\u{4FF}', '\u{2BB}', 'Ω'] {
            assert_eq!(r.cid(c), None, "{c:?}");
        }
        for c in "ҐґЄєІіЇї«»„“”’ʼ№—–·Škoda".chars() {
            assert!(r.cid(c).is_some(), "{c:?}");
        }
    }

    #[test]
    fn to_unicode_ranges_never_cross_a_byte_boundary() {
        let chars: Vec<char> = ('\u{F0}'..='\u{110}').chain(['a', '😀']).collect();
        let cmap = to_unicode_cmap(&chars);
        // CIDs 1..=15 map U+00F0..U+00FF, then U+0100.. starts a new range.
        assert!(cmap.contains("<0001> <0010> <00F0>"), "{cmap}");
        assert!(cmap.contains("<0011> <0021> <0100>"), "{cmap}");
        assert!(cmap.contains("<0023> <D83DDE00>"), "{cmap}");
    }

    #[test]
    fn the_slimmed_font_keeps_outlines_and_metrics() {
        let face = face(FontWeight::Regular).unwrap();
        let chars = repertoire().chars();
        let mut remapper = subsetter::GlyphRemapper::new();
        for &c in chars {
            remapper.remap(face.glyph(c).0);
        }
        let subset = subsetter::subset(face.data, 0, &remapper).unwrap();
        let slim = super::super::ttf::slim(&subset).expect("DejaVu is plain TrueType");
        eprintln!("repertoire subset {} bytes, slimmed {} bytes", subset.len(), slim.len());
        assert!(slim.len() < subset.len() * 3 / 4, "{} vs {}", slim.len(), subset.len());
        let (a, b) = (Face::parse(&subset, 0).unwrap(), Face::parse(&slim, 0).unwrap());
        assert_eq!(a.number_of_glyphs(), b.number_of_glyphs());
        for g in 0..a.number_of_glyphs() {
            let g = GlyphId(g);
            assert_eq!(a.glyph_hor_advance(g), b.glyph_hor_advance(g));
            assert_eq!(a.glyph_bounding_box(g), b.glyph_bounding_box(g));
            let (mut pa, mut pb) = (Outline::default(), Outline::default());
            a.outline_glyph(g, &mut pa);
            b.outline_glyph(g, &mut pb);
            assert_eq!(pa.0, pb.0, "glyph {g:?}");
        }
    }

    #[derive(Default)]
    struct Outline(String);
    impl ttf_parser::OutlineBuilder for Outline {
        fn move_to(&mut self, x: f32, y: f32) {
            let _ = write!(self.0, "M{x},{y}");
        }
        fn line_to(&mut self, x: f32, y: f32) {
            let _ = write!(self.0, "L{x},{y}");
        }
        fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
            let _ = write!(self.0, "Q{x1},{y1},{x},{y}");
        }
        fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
            let _ = write!(self.0, "C{x1},{y1},{x2},{y2},{x},{y}");
        }
        fn close(&mut self) {
            self.0.push('Z');
        }
    }
}
