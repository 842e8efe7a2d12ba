//! Slimming of a subset TrueType font for embedding: hinting removed, glyph names dropped.
//!
//! `subsetter` keeps the hinting programs (`cvt `, `fpgm`, `prep`) and every glyph's
//! instructions, which are more than half of DejaVu's glyph data, and the `post` table's glyph
//! names. PDF viewers rasterise embedded TrueType without the font's own hints, and a CID font
//! needs no glyph names, so both go: the embedded font is then about half the size. Outlines,
//! metrics and the `name` table (which carries the font's copyright and licence) are kept as
//! they are.
//!
//! This runs once per face per process (and for the rare document that needs characters beyond
//! the fixed repertoire), so clarity matters more than speed here. Any structure it does not
//! understand makes it return `None`, and the caller embeds the subset unchanged.

/// The subset without hinting and glyph names, or `None` if the font is not a plain TrueType
/// font this code understands.
pub(super) fn slim(font: &[u8]) -> Option<Vec<u8>> {
    let tables = directory(font)?;
    let table = |tag: &[u8; 4]| tables.iter().find(|(t, _)| t == tag).map(|(_, data)| *data);
    let head = table(b"head")?;
    let loca = table(b"loca")?;
    let glyf = table(b"glyf")?;
    if head.len() < 54 || font.get(0..4)? != [0, 1, 0, 0] {
        return None;
    }
    let long_loca = match read_u16(head, 50)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let offset = |i: usize| -> Option<usize> {
        if long_loca {
            Some(read_u32(loca, 4 * i)? as usize)
        } else {
            Some(2 * read_u16(loca, 2 * i)? as usize)
        }
    };
    let glyph_count = if long_loca { loca.len() / 4 } else { loca.len() / 2 }.checked_sub(1)?;

    // New glyph data, each glyph padded to four bytes, and its offsets.
    let mut new_glyf = Vec::with_capacity(glyf.len());
    let mut offsets = Vec::with_capacity(glyph_count + 1);
    for i in 0..glyph_count {
        offsets.push(new_glyf.len());
        let (start, end) = (offset(i)?, offset(i + 1)?);
        if start > end || end > glyf.len() {
            return None;
        }
        let glyph = &glyf[start..end];
        if !glyph.is_empty() {
            strip_instructions(glyph, &mut new_glyf)?;
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    offsets.push(new_glyf.len());

    // Short offsets (halved, 16-bit) when they fit: half the size of the long form.
    let short = new_glyf.len() / 2 <= usize::from(u16::MAX);
    let mut new_loca = Vec::with_capacity(offsets.len() * 4);
    for &o in &offsets {
        if short {
            new_loca.extend_from_slice(&u16::try_from(o / 2).ok()?.to_be_bytes());
        } else {
            new_loca.extend_from_slice(&u32::try_from(o).ok()?.to_be_bytes());
        }
    }

    let mut new_head = head.to_vec();
    new_head[8..12].fill(0); // checkSumAdjustment, set at the end
    new_head[50..52].copy_from_slice(&u16::from(!short).to_be_bytes());

    let mut out_tables: Vec<([u8; 4], Vec<u8>)> = Vec::with_capacity(tables.len());
    for (tag, data) in &tables {
        let data = match tag {
            b"cvt " | b"fpgm" | b"prep" | b"hdmx" | b"LTSH" | b"VDMX" | b"gasp" => continue,
            b"glyf" => std::mem::take(&mut new_glyf),
            b"loca" => std::mem::take(&mut new_loca),
            b"head" => std::mem::take(&mut new_head),
            b"maxp" => unhinted_maxp(data),
            // Version 3: no glyph names.
            b"post" if data.len() >= 32 => {
                let mut post = data[..32].to_vec();
                post[0..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
                post
            }
            _ => data.to_vec(),
        };
        out_tables.push((*tag, data));
    }
    Some(assemble(out_tables))
}

/// Appends `glyph` without its instructions.
fn strip_instructions(glyph: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let contours = i16::from_be_bytes([*glyph.first()?, *glyph.get(1)?]);
    if contours >= 0 {
        // Header (10 bytes), endPtsOfContours, instructionLength, instructions, flags and points.
        let at = 10 + 2 * contours as usize;
        let instructions = read_u16(glyph, at)? as usize;
        let points_at = at + 2 + instructions;
        let points = if contours == 0 { 0 } else { usize::from(read_u16(glyph, at - 2)?) + 1 };
        // The flags and coordinates end here; anything after is the source's padding.
        let end = points_at + outline_length(glyph.get(points_at..)?, points)?;
        out.extend_from_slice(&glyph[..at]);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(glyph.get(points_at..end)?);
        return Some(());
    }
    // A composite: component records, then (if a component says so) instructions.
    const ARG_1_AND_2_ARE_WORDS: u16 = 0x0001;
    const WE_HAVE_A_SCALE: u16 = 0x0008;
    const MORE_COMPONENTS: u16 = 0x0020;
    const WE_HAVE_AN_X_AND_Y_SCALE: u16 = 0x0040;
    const WE_HAVE_A_TWO_BY_TWO: u16 = 0x0080;
    const WE_HAVE_INSTRUCTIONS: u16 = 0x0100;
    out.extend_from_slice(glyph.get(..10)?);
    let mut at = 10;
    loop {
        let flags = read_u16(glyph, at)?;
        let mut len = 4 + if flags & ARG_1_AND_2_ARE_WORDS != 0 { 4 } else { 2 };
        if flags & WE_HAVE_A_SCALE != 0 {
            len += 2;
        } else if flags & WE_HAVE_AN_X_AND_Y_SCALE != 0 {
            len += 4;
        } else if flags & WE_HAVE_A_TWO_BY_TWO != 0 {
            len += 8;
        }
        let record = glyph.get(at..at + len)?;
        let flag_at = out.len();
        out.extend_from_slice(record);
        out[flag_at..flag_at + 2].copy_from_slice(&(flags & !WE_HAVE_INSTRUCTIONS).to_be_bytes());
        at += len;
        if flags & MORE_COMPONENTS == 0 {
            break;
        }
    }
    Some(())
}

/// The length of a simple glyph's flags and coordinates for `points` points.
fn outline_length(data: &[u8], points: usize) -> Option<usize> {
    const X_SHORT: u8 = 0x02;
    const Y_SHORT: u8 = 0x04;
    const REPEAT: u8 = 0x08;
    const X_SAME_OR_POSITIVE: u8 = 0x10;
    const Y_SAME_OR_POSITIVE: u8 = 0x20;
    let mut at = 0;
    let (mut x_bytes, mut y_bytes) = (0, 0);
    let mut seen = 0;
    while seen < points {
        let flag = *data.get(at)?;
        at += 1;
        let mut count = 1;
        if flag & REPEAT != 0 {
            count += usize::from(*data.get(at)?);
            at += 1;
        }
        let x = if flag & X_SHORT != 0 {
            1
        } else if flag & X_SAME_OR_POSITIVE != 0 {
            0
        } else {
            2
        };
        let y = if flag & Y_SHORT != 0 {
            1
        } else if flag & Y_SAME_OR_POSITIVE != 0 {
            0
        } else {
            2
        };
        x_bytes += x * count;
        y_bytes += y * count;
        seen += count;
    }
    let end = at + x_bytes + y_bytes;
    (end <= data.len()).then_some(end)
}

/// `maxp` without the hinting program's needs (version 1.0 only; 0.5 has none).
fn unhinted_maxp(maxp: &[u8]) -> Vec<u8> {
    let mut maxp = maxp.to_vec();
    if maxp.len() >= 32 && maxp[0..4] == [0, 1, 0, 0] {
        // maxZones = 1; twilight points, storage, function and instruction defs, stack
        // elements and instruction size = 0.
        maxp[14..16].copy_from_slice(&1u16.to_be_bytes());
        maxp[16..28].fill(0);
    }
    maxp
}

/// The table directory of a TrueType font: (tag, data) in directory order.
fn directory(font: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let count = read_u16(font, 4)? as usize;
    (0..count)
        .map(|i| {
            let record = font.get(12 + 16 * i..28 + 16 * i)?;
            let tag: [u8; 4] = record[0..4].try_into().ok()?;
            let offset = read_u32(record, 8)? as usize;
            let length = read_u32(record, 12)? as usize;
            Some((tag, font.get(offset..offset.checked_add(length)?)?))
        })
        .collect()
}

/// A font file from tables: sorted directory, four-byte aligned tables, checksums, and the
/// head table's checkSumAdjustment (whose field must be zero on entry).
fn assemble(mut tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    tables.sort_by_key(|(tag, _)| *tag);
    let count = tables.len() as u16;
    let entry_selector = 15 - count.max(1).leading_zeros() as u16;
    let search_range = (1u16 << entry_selector) * 16;
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [count, search_range, entry_selector, count * 16 - search_range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(at) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[at + 8..at + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    out
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}
