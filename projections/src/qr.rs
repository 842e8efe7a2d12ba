//! QR codes for a service's link, drawn as SVG.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
#[error("посилання задовге для QR-коду: {0}")]
pub struct QrError(#[from] qrcode::types::QrError);

/// The link as an SVG QR code: error correction Q (survives about a quarter of damage), with the
/// standard quiet zone of four modules.
pub fn qr_svg(link: &str) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::Q)?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(300, 300).quiet_zone(true).build())
}
