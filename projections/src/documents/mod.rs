//! Documents the engine draws: pure code, no IO. The PDF writer (`pdf`), the QR symbol (`qr`),
//! a copy's page per document type (`copies`), the printable poster (`poster`), the accession
//! application a partner's head signs (`accession`), and the Ukrainian
//! wording of times and counts they share (`wording`).

pub mod accession;
pub mod copies;
pub mod pdf;
pub mod poster;
pub mod qr;
pub mod wording;
