//! The TOTP enrolment's presentation: the `otpauth://` link as a QR code
//! the account page shows. The secrets, codes and recovery codes themselves
//! are the core's (`core/two_factor.rs`): the store checks codes.

use crate::core::error::{Error, Result};

/// The QR code of `text` as an SVG image (black modules on white, with the
/// quiet zone), to show inline: no JavaScript, no image request.
///
/// ```
/// let svg = kegauth::two_factor::qr_svg("otpauth://totp/x?secret=ABC").unwrap();
/// assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
/// ```
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Invalid(format!("no QR code for this text: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}
