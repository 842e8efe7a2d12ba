//! QR codes for a service's link: the module matrix, and renderings as SVG and PNG. Error
//! correction Q (a quarter of the code may be damaged) with the standard four-module quiet zone:
//! a printed code must survive a bad printer and a scratched sticker.

pub mod matrix;

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("посилання задовге для QR-коду")]
    TooLong,
    #[error("PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// The quiet zone every rendering keeps around the code, in modules.
pub const QUIET_ZONE: usize = 4;

/// A QR code's dark modules, without the quiet zone.
pub struct QrMatrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl QrMatrix {
    /// The same symbol `qrcode` draws, with the mask chosen by the fast scorer in `matrix`.
    pub fn new(link: &str) -> Result<Self, QrError> {
        let (dark, width) = matrix::qr_modules(link.as_bytes(), EcLevel::Q).ok_or(QrError::TooLong)?;
        Ok(Self { width, dark })
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// Horizontal runs of dark modules, row by row: `(x, y, length)`. Drawing runs instead of
    /// single modules keeps vector renderings small and free of hairline seams.
    pub fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }

    /// An 8-bit grayscale PNG, `scale` pixels per module, quiet zone included.
    pub fn png(&self, scale: usize) -> Result<Vec<u8>, QrError> {
        let scale = scale.max(1);
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut pixels = vec![255u8; side * side];
        for (x, y, len) in self.dark_runs() {
            for py in (y + QUIET_ZONE) * scale..(y + QUIET_ZONE + 1) * scale {
                let row = py * side;
                pixels[row + (x + QUIET_ZONE) * scale..row + (x + len + QUIET_ZONE) * scale].fill(0);
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        Ok(out)
    }
}

/// The link as an SVG QR code, quiet zone included.
pub fn qr_svg(link: &str) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::Q).map_err(|_| QrError::TooLong)?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(300, 300).quiet_zone(true).build())
}

/// The link as a PNG QR code, `scale` pixels per module, quiet zone included.
pub fn qr_png(link: &str, scale: usize) -> Result<Vec<u8>, QrError> {
    QrMatrix::new(link)?.png(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = QrMatrix::new("https://qr.example.ua/qr/v1/abc").unwrap();
        let covered: usize = m.dark_runs().iter().map(|(_, _, len)| len).sum();
        assert_eq!(covered, m.dark.iter().filter(|d| **d).count());
        // Level Q: a 37-character link fits version 3 (29 modules) or 4 (33).
        assert!(m.width >= 29);
    }

    #[test]
    fn a_png_keeps_the_quiet_zone_white_and_starts_the_finder_pattern_after_it() {
        let (scale, m) = (4, QrMatrix::new("https://qr.example.ua/qr/v1/abc").unwrap());
        let png = m.png(scale).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let side = (m.width + 2 * QUIET_ZONE) * scale;
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        let at = |x: usize, y: usize| pixels[y * side + x];
        let edge = QUIET_ZONE * scale;
        assert!((0..edge).all(|i| at(i, i) == 255 && at(side - 1 - i, i) == 255), "quiet zone is white");
        assert_eq!(at(edge, edge), 0, "the finder pattern's corner is dark");
    }

    /// zbarimg's reading of a PNG; without zbarimg (scripts/setup-machine installs it) the test fails.
    fn zbar(png: &[u8]) -> String {
        let path = std::env::temp_dir().join(format!("diia-qr-damaged-{}.png", std::process::id()));
        std::fs::write(&path, png).unwrap();
        let out = std::process::Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(&path)
            .output()
            .expect("zbarimg is installed (scripts/setup-machine)");
        let _ = std::fs::remove_file(&path);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn level_q_survives_a_blot_and_a_coarse_print() {
        let link = "https://qr.example.ua/qr/v1/oUxnrv9nR7CpRNF4v7jugwAAAAEMcBSRyrEfse8Hn5OBb6ue";
        let mut m = QrMatrix::new(link).unwrap();
        // A blot of 5×5 modules flipped in the data area (a scratch, a drop of coffee).
        let (w, start) = (m.width, m.width / 2);
        for y in start..start + 5 {
            for x in start..start + 5 {
                m.dark[y * w + x] = !m.dark[y * w + x];
            }
        }
        assert_ne!(m.dark, QrMatrix::new(link).unwrap().dark);
        // Two pixels a module: a coarse print or a distant camera.
        assert_eq!(zbar(&m.png(2).unwrap()), link);
    }
}
