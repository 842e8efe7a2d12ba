//! The public offer a partner accepts (the accession application its head signs is the PDF of
//! `documents::accession`). Acceptance records the offer's SHA-256, so a changed text cannot be passed off
//! as the accepted one.

use diia_qr_projections::digest::sha256_hex;

pub const OFFER_VERSION: &str = "2026-11-01";
pub const OFFER_TEXT: &str = "Публічна оферта про надання послуги «Дія.QR» (редакція від 01.11.2026).\n\
1. Послуга дає змогу партнеру отримувати на підтверджену електронну пошту відділення копії документів громадян, \
засвідчені кваліфікованою електронною печаткою, за їхньою згодою, підписаною Дія.Підписом.\n\
2. Партнер обробляє отримані персональні дані лише з метою, зазначеною в назві послуги, і не довше за вказаний строк \
зберігання, відповідно до Закону України «Про захист персональних даних».\n\
3. Партнер не використовує в назвах відділень і послуг позначення «Дія» та не вводить громадян в оману щодо мети запиту.\n";

pub fn offer_sha256() -> String {
    sha256_hex(OFFER_TEXT.as_bytes())
}
