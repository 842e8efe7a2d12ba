//! QR code modules: qrcode's encoder with a faster choice of mask.
//!
//! `qrcode` scores the eight mask patterns with a generic, allocation-heavy implementation that
//! takes about a millisecond for a 37×37 symbol — ten times the rest of a copy. Here qrcode's
//! public building blocks encode the data (segments, error correction, module placement), and
//! the mask penalty of ISO/IEC 18004 §7.8.3 is computed on rows and columns as bit sets: about
//! 25 µs for all eight masks. Each masked symbol scored here is exactly the one qrcode's own
//! `apply_mask` draws (tested); the mask chosen can differ from `QrCode`'s where the two penalty
//! computations differ in detail, and any mask is valid for every decoder.

use qrcode::bits::encode_auto;
use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::{Color, EcLevel, Version};

/// The eight masks, in the order of their references 000–111.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The modules of a QR code for `data` at error correction level `ec` (rows top first, `true`
/// for dark) and the symbol's width in modules, or `None` if the data is too long for a QR code.
pub fn qr_modules(data: &[u8], ec: EcLevel) -> Option<(Vec<bool>, usize)> {
    let (mut canvas, width, ec_bits) = unmasked_symbol(data, ec)?;
    if width <= 56 {
        // The chosen symbol is the one scored (the same as qrcode's own masking: see
        // `scored_symbols_are_qrcodes_own`).
        let rows = best_mask_bitwise(&canvas, width, ec_bits);
        let modules = rows[..width].iter().flat_map(|row| (0..width).map(move |x| (row >> x) & 1 == 1)).collect();
        return Some((modules, width));
    }
    canvas.apply_mask(MASKS[best_mask_plain(&canvas, width, ec_bits)]);
    Some((canvas.into_colors().into_iter().map(|c| c == Color::Dark).collect(), width))
}

/// The symbol before masking: the canvas with its functional patterns and data drawn, its width
/// and the error correction level's format indicator.
fn unmasked_symbol(data: &[u8], ec: EcLevel) -> Option<(Canvas, usize, u32)> {
    let bits = encode_auto(data, ec).ok()?;
    let version = bits.version();
    if !matches!(version, Version::Normal(_)) {
        return None;
    }
    let width = usize::try_from(version.width()).ok()?;
    let (data_codewords, ec_codewords) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, ec).ok()?;
    let mut canvas = Canvas::new(version, ec);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data_codewords, &ec_codewords);
    // The error correction level's format indicator: L 01, M 00, Q 11, H 10.
    let ec_bits = match ec {
        EcLevel::L => 0b01,
        EcLevel::M => 0b00,
        EcLevel::Q => 0b11,
        EcLevel::H => 0b10,
    };
    Some((canvas, width, ec_bits))
}

/// The unmasked module at (`x`, `y`): whether it is dark, and whether a mask inverts it (data
/// and error correction modules).
fn unmasked(canvas: &Canvas, x: usize, y: usize) -> (bool, bool) {
    match canvas.get(x as i16, y as i16) {
        Module::Unmasked(c) => (c == Color::Dark, true),
        Module::Empty => (false, true),
        Module::Masked(c) => (c == Color::Dark, false),
    }
}

/// The mask reference with the lowest penalty (the first of equal ones), scoring each masked
/// symbol module by module: any size.
fn best_mask_plain(canvas: &Canvas, width: usize, ec_bits: u32) -> usize {
    let cells: Vec<(bool, bool)> = (0..width * width).map(|i| unmasked(canvas, i % width, i / width)).collect();
    let mut symbol = vec![false; width * width];
    let mut transposed = vec![false; width * width];
    let mut best = (u32::MAX, 0);
    for reference in 0..MASKS.len() {
        for (i, (&(dark, maskable), module)) in cells.iter().zip(symbol.iter_mut()).enumerate() {
            *module = dark ^ (maskable && inverts(reference, i % width, i / width));
        }
        draw_format(&mut symbol, width, format_bits(ec_bits << 3 | reference as u32));
        let score = penalty(&symbol, &mut transposed, width);
        if score < best.0 {
            best = (score, reference);
        }
    }
    best.1
}

/// Each mask's pattern for one symbol width, as bit sets: `rows[reference][y]` has bit `x` set
/// where the mask inverts (x, y); `columns[reference][x]` has bit `y` set.
struct MaskBits {
    width: usize,
    rows: [[u64; 56]; 8],
    columns: [[u64; 56]; 8],
}

impl MaskBits {
    fn new(width: usize) -> Self {
        let mut bits = Self { width, rows: [[0; 56]; 8], columns: [[0; 56]; 8] };
        for reference in 0..8 {
            for y in 0..width {
                for x in 0..width {
                    if inverts(reference, x, y) {
                        bits.rows[reference][y] |= 1 << x;
                        bits.columns[reference][x] |= 1 << y;
                    }
                }
            }
        }
        bits
    }
}

/// The same choice as [`best_mask_plain`] for symbols up to 56 modules wide (version 10), with
/// rows and columns as bit sets: about ten times faster. Returns the chosen symbol's rows.
fn best_mask_bitwise(canvas: &Canvas, width: usize, ec_bits: u32) -> [u64; 56] {
    thread_local! {
        /// Mask patterns of the last width used: copies' links are all of one length.
        static MASK_BITS: std::cell::RefCell<Option<std::rc::Rc<MaskBits>>> = const { std::cell::RefCell::new(None) };
    }
    let masks = MASK_BITS.with(|cell| {
        let mut cell = cell.borrow_mut();
        match &*cell {
            Some(bits) if bits.width == width => bits.clone(),
            _ => cell.insert(std::rc::Rc::new(MaskBits::new(width))).clone(),
        }
    });

    // The unmasked symbol and the maskable modules, by rows and by columns.
    let (mut dark_rows, mut data_rows) = ([0u64; 56], [0u64; 56]);
    let (mut dark_columns, mut data_columns) = ([0u64; 56], [0u64; 56]);
    for y in 0..width {
        for x in 0..width {
            let (dark, maskable) = unmasked(canvas, x, y);
            dark_rows[y] |= u64::from(dark) << x;
            data_rows[y] |= u64::from(maskable) << x;
            dark_columns[x] |= u64::from(dark) << y;
            data_columns[x] |= u64::from(maskable) << y;
        }
    }
    let mut rows = [0u64; 56];
    let mut columns = [0u64; 56];
    let mut best = (u32::MAX, [0u64; 56]);
    for reference in 0..MASKS.len() {
        for y in 0..width {
            rows[y] = dark_rows[y] ^ (data_rows[y] & masks.rows[reference][y]);
            columns[y] = dark_columns[y] ^ (data_columns[y] & masks.columns[reference][y]);
        }
        draw_format_with(width, format_bits(ec_bits << 3 | reference as u32), |x, y, dark| {
            rows[y] = (rows[y] & !(1 << x)) | (u64::from(dark) << x);
            columns[x] = (columns[x] & !(1 << y)) | (u64::from(dark) << y);
        });
        let score = penalty_bitwise(&rows[..width], &columns[..width], width);
        if score < best.0 {
            best = (score, rows);
        }
    }
    best.1
}

/// [`penalty`] on bit sets (bit `i` of a line is its module `i`), for widths up to 56.
fn penalty_bitwise(rows: &[u64], columns: &[u64], width: usize) -> u32 {
    debug_assert!(width <= 56);
    let all = (1u64 << width) - 1;
    // Offsets at which an eleven-module window fits in a line padded with four light modules
    // on each side.
    let offsets = (1u64 << (width - 2)) - 1;
    // 1011101 0000 from the window's first module on.
    const FINDER: [bool; 11] = [true, false, true, true, true, false, true, false, false, false, false];
    let mut score = 0;
    for &line in rows.iter().chain(columns) {
        // Bit i: module i equals module i + 1.
        let equal = !(line ^ (line >> 1)) & (all >> 1);
        // Bit i: modules i..i+4 are equal. A run of length L >= 5 has L - 4 such bits and one
        // start, and costs 3 + (L - 5) = (L - 4) + 2.
        let five = equal & (equal >> 1) & (equal >> 2) & (equal >> 3);
        score += five.count_ones() + 2 * (five & !(five << 1)).count_ones();
        // Finder-like patterns, the quiet zone counting as light: both orientations at every
        // offset of the padded line.
        let padded = line << 4;
        let (mut forward, mut backward) = (offsets, offsets);
        for k in 0..11 {
            let shifted = padded >> k;
            forward &= if FINDER[k] { shifted } else { !shifted };
            backward &= if FINDER[10 - k] { shifted } else { !shifted };
        }
        score += 40 * (forward.count_ones() + backward.count_ones());
    }
    for pair in rows.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let vertical = !(a ^ b);
        let blocks = !(a ^ (a >> 1)) & vertical & (vertical >> 1) & (all >> 1);
        score += 3 * blocks.count_ones();
    }
    let dark: u32 = rows.iter().map(|r| r.count_ones()).sum();
    let percent = dark as usize * 100 / (width * width);
    score + 10 * (percent.abs_diff(50) / 5) as u32
}

/// Whether mask `reference` inverts the module in column `x`, row `y`: where the mask's
/// expression (ISO/IEC 18004 table 10) is zero.
fn inverts(reference: usize, x: usize, y: usize) -> bool {
    let expression = match reference {
        0 => (x + y) % 2,
        1 => y % 2,
        2 => x % 3,
        3 => (x + y) % 3,
        4 => (y / 2 + x / 3) % 2,
        5 => (x * y) % 2 + (x * y) % 3,
        6 => ((x * y) % 2 + (x * y) % 3) % 2,
        _ => ((x + y) % 2 + (x * y) % 3) % 2,
    };
    expression == 0
}

/// The 15 format bits for 5 data bits: BCH(15, 5) with generator 10100110111, masked with
/// 101010000010010.
fn format_bits(data: u32) -> u32 {
    let mut remainder = data << 10;
    for bit in (10..15).rev() {
        if remainder & (1 << bit) != 0 {
            remainder ^= 0b101_0011_0111 << (bit - 10);
        }
    }
    ((data << 10) | remainder) ^ 0b101_0100_0001_0010
}

/// Draws both copies of the format information and the dark module.
fn draw_format(symbol: &mut [bool], width: usize, bits: u32) {
    draw_format_with(width, bits, |x, y, dark| symbol[y * width + x] = dark);
}

/// Calls `set(x, y, dark)` for each module of the format information and the dark module.
fn draw_format_with(width: usize, bits: u32, mut set: impl FnMut(usize, usize, bool)) {
    let bit = |i: usize| (bits >> i) & 1 != 0;
    // Around the top-left finder pattern.
    for i in 0..6 {
        set(8, i, bit(i));
    }
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for i in 9..15 {
        set(14 - i, 8, bit(i));
    }
    // Split between the top-right and bottom-left finder patterns.
    for i in 0..8 {
        set(width - 1 - i, 8, bit(i));
    }
    for i in 8..15 {
        set(8, width - 15 + i, bit(i));
    }
    set(8, width - 8, true);
}

/// The mask penalty score (ISO/IEC 18004 §7.8.3): runs of five or more (N1 = 3), 2×2 blocks
/// (N2 = 3), finder-like 1:1:3:1:1 patterns with four light modules on a side (N3 = 40), and
/// the deviation of the dark proportion from half (N4 = 10 per 5 %).
fn penalty(symbol: &[bool], transposed: &mut [bool], width: usize) -> u32 {
    for y in 0..width {
        for x in 0..width {
            transposed[x * width + y] = symbol[y * width + x];
        }
    }
    let mut score = 0;
    for line in symbol.chunks_exact(width).chain(transposed.chunks_exact(width)) {
        score += line_penalty(line);
    }
    for (a, b) in symbol.chunks_exact(width).zip(symbol.chunks_exact(width).skip(1)) {
        for x in 0..width - 1 {
            let c = a[x];
            if a[x + 1] == c && b[x] == c && b[x + 1] == c {
                score += 3;
            }
        }
    }
    let dark = symbol.iter().filter(|&&m| m).count();
    let percent = dark * 100 / symbol.len();
    score + 10 * (percent.abs_diff(50) / 5) as u32
}

/// Runs and finder-like patterns in one row or column.
fn line_penalty(line: &[bool]) -> u32 {
    let mut score = 0;
    let mut run = 0;
    let mut previous = None;
    // Outside the symbol counts as light (the quiet zone): the last eleven modules as bits,
    // compared with 1011101 0000 and 0000 1011101.
    let mut window: u32 = 0;
    for &dark in line {
        if previous == Some(dark) {
            run += 1;
        } else {
            if run >= 5 {
                score += 3 + (run - 5);
            }
            run = 1;
            previous = Some(dark);
        }
        window = ((window << 1) | u32::from(dark)) & 0x7FF;
        if window == 0b101_1101_0000 || window == 0b000_0101_1101 {
            score += 40;
        }
    }
    if run >= 5 {
        score += 3 + (run - 5);
    }
    for _ in 0..4 {
        window = (window << 1) & 0x7FF;
        if window == 0b101_1101_0000 {
            score += 40;
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symbol_matches_the_qrcode_crate_up_to_the_mask() {
        let url = b"https://diia-qr.example.gov.ua/verify/8b0d7c8e-3f4a-5b61-9c2d-0e1f2a3b4c5d";
        let (modules, width) = qr_modules(url, EcLevel::M).unwrap();
        let reference = qrcode::QrCode::with_error_correction_level(url, EcLevel::M).unwrap();
        assert_eq!(width, reference.width());
        assert_eq!(width, 37);
        assert_eq!(modules.len(), width * width);
        // Same version and finder patterns; a valid mask (the format information is drawn by
        // qrcode itself). That it decodes is checked with zbarimg in the copies' tests.
        let ours_dark = modules.iter().filter(|&&m| m).count();
        assert!(ours_dark * 100 / modules.len() > 30 && ours_dark * 100 / modules.len() < 70);
        assert!(qr_modules(&vec![b'x'; 4000], EcLevel::M).is_none());
    }

    #[test]
    fn penalty_counts_runs_blocks_and_finder_patterns() {
        // An all-light 21×21 symbol: 21 rows and 21 columns of one run of 21 (3 + 16 each),
        // 400 blocks, no finder pattern, 50 % off balance.
        let light = vec![false; 21 * 21];
        assert_eq!(penalty(&light, &mut vec![false; 21 * 21], 21), 42 * 19 + 400 * 3 + 100);
        // One finder-like pattern at the start of a row, the quiet zone before it.
        let row = [true, false, true, true, true, false, true, false, false, false, false, false];
        assert_eq!(line_penalty(&row), 40 + 40 + 3);
    }

    /// Every mask, as scored here, is exactly the symbol qrcode draws with that mask.
    #[test]
    fn scored_symbols_are_qrcodes_own() {
        for (data, ec) in [
            (&b"https://diia-qr.example.gov.ua/verify/x"[..], EcLevel::M),
            (&[b'7'; 300][..], EcLevel::H),
            (&b"a"[..], EcLevel::L),
            (&[b'Q'; 200][..], EcLevel::Q),
        ] {
            let (canvas, width, ec_bits) = unmasked_symbol(data, ec).unwrap();
            for (reference, &pattern) in MASKS.iter().enumerate() {
                let mut theirs = canvas.clone();
                theirs.apply_mask(pattern);
                let theirs: Vec<bool> = theirs.into_colors().into_iter().map(|c| c == Color::Dark).collect();
                let mut ours = vec![false; width * width];
                for y in 0..width {
                    for x in 0..width {
                        ours[y * width + x] = match canvas.get(x as i16, y as i16) {
                            Module::Unmasked(c) => (c == Color::Dark) ^ inverts(reference, x, y),
                            Module::Empty => inverts(reference, x, y),
                            Module::Masked(c) => c == Color::Dark,
                        };
                    }
                }
                draw_format(&mut ours, width, format_bits(ec_bits << 3 | reference as u32));
                assert!(ours == theirs, "{ec:?} mask {reference}");
            }
        }
    }

    /// The bitwise scoring chooses exactly as the plain one, for symbols of many sizes.
    #[test]
    fn bitwise_and_plain_scores_agree() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for width in [21, 25, 37, 41, 53] {
            for _ in 0..50 {
                let base: Vec<bool> = (0..width * width).map(|_| random() % 3 == 0).collect();
                let rows: Vec<u64> =
                    base.chunks(width).map(|r| r.iter().enumerate().fold(0, |b, (x, &on)| b | (u64::from(on) << x))).collect();
                let columns: Vec<u64> = (0..width).map(|x| (0..width).fold(0, |b, y| b | (u64::from(base[y * width + x]) << y))).collect();
                assert_eq!(
                    penalty_bitwise(&rows, &columns, width),
                    penalty(&base, &mut vec![false; width * width], width),
                    "width {width}"
                );
            }
        }
        for data in [
            "https://diia-qr.example.gov.ua/verify/1",
            "a",
            "https://example.com/a/much/longer/path/that/needs/a/larger/version/of/the/symbol?x=1&y=2&z=3",
        ] {
            for ec in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
                let (canvas, width, ec_bits) = unmasked_symbol(data.as_bytes(), ec).unwrap();
                let rows = best_mask_bitwise(&canvas, width, ec_bits);
                let ours: Vec<bool> = rows[..width].iter().flat_map(|row| (0..width).map(move |x| (row >> x) & 1 == 1)).collect();
                let mut theirs = canvas.clone();
                theirs.apply_mask(MASKS[best_mask_plain(&canvas, width, ec_bits)]);
                let theirs: Vec<bool> = theirs.into_colors().into_iter().map(|c| c == Color::Dark).collect();
                assert!(ours == theirs, "{data} {ec:?}");
            }
        }
    }
}
