//! The development mail folder read back: the letter a share's copies went out in, as the
//! organisation's mail client would show it. Only with `--dev-sign-in` and mail to a folder (the
//! embedded defaults), only to the citizen who sent it: the simulator's last step.

use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::ShareStatus;
use mail_parser::{MessageParser, MimeHeaders};
use uuid::Uuid;

use super::{Engine, EngineError};

/// A delivered letter: its headers, its text and its attachments.
#[derive(Debug, Clone)]
pub struct DeliveredLetter {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub message_id: String,
    pub text: String,
    pub attachments: Vec<LetterAttachment>,
}

#[derive(Debug, Clone)]
pub struct LetterAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Engine {
    /// The letter that carried share `id`'s copies, once delivered to the mail folder; `None`
    /// before that, or when mail goes to an SMTP server (the letter is then the server's).
    pub async fn dev_delivered_letter(&self, citizen: &Rnokpp, id: Uuid) -> Result<Option<DeliveredLetter>, EngineError> {
        self.require_dev_sign_in()?;
        let share = self.share_request(citizen, id).await?;
        let Some(folder) = &self.settings.dev_mail_folder else { return Ok(None) };
        if share.status() != ShareStatus::Delivered {
            return Ok(None);
        }
        // The delivery worker names a share's letter by the share (a re-delivery replaces it).
        let path = folder.join(format!("share-{id}.eml"));
        let raw = match tokio::fs::read(&path).await {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EngineError::Unavailable(format!("{}: {e}", path.display()))),
        };
        Ok(Some(read_letter(&raw).ok_or_else(|| EngineError::Internal(format!("{} is not a letter", path.display())))?))
    }
}

fn read_letter(raw: &[u8]) -> Option<DeliveredLetter> {
    let message = MessageParser::default().parse(raw)?;
    let addresses = |a: Option<&mail_parser::Address>| {
        a.map(|a| {
            a.iter()
                .map(|m| match (m.name(), m.address()) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (None, Some(address)) => address.to_string(),
                    (Some(name), None) => name.to_string(),
                    (None, None) => String::new(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    let attachments = message
        .attachments()
        .map(|part| LetterAttachment {
            file_name: part.attachment_name().unwrap_or("attachment").to_string(),
            content_type: part
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes: part.contents().to_vec(),
        })
        .collect();
    Some(DeliveredLetter {
        from: addresses(message.from()),
        to: addresses(message.to()),
        subject: message.subject().unwrap_or_default().to_string(),
        date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        message_id: message.message_id().map(|id| format!("<{id}>")).unwrap_or_default(),
        text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_is_read_with_its_ukrainian_headers_and_attachments() {
        let letter = lettre::Message::builder()
            .from("Дія.QR <noreply@diia-qr.localhost>".parse().unwrap())
            .to("Готель «Ґражда» <front@example.ua>".parse().unwrap())
            .subject("Дія.QR: копії документів — Поселення п'ятого поверху")
            .message_id(Some("<share-1@diia-qr.localhost>".into()))
            .multipart(
                lettre::message::MultiPart::mixed()
                    .singlepart(lettre::message::SinglePart::plain("Добрий день, Євгеніє!".to_string()))
                    .singlepart(
                        lettre::message::Attachment::new("паспорт.pdf".into())
                            .body(b"%PDF-1.7".to_vec(), lettre::message::header::ContentType::parse("application/pdf").unwrap()),
                    ),
            )
            .unwrap();
        let read = read_letter(&letter.formatted()).expect("a letter");
        assert_eq!(read.subject, "Дія.QR: копії документів — Поселення п'ятого поверху");
        assert_eq!(read.to, "Готель «Ґражда» <front@example.ua>");
        assert_eq!(read.message_id, "<share-1@diia-qr.localhost>");
        assert!(read.text.contains("Євгеніє"), "{}", read.text);
        assert_eq!(read.attachments.len(), 1);
        assert_eq!(read.attachments[0].file_name, "паспорт.pdf");
        assert_eq!(read.attachments[0].content_type, "application/pdf");
        assert_eq!(read.attachments[0].bytes, b"%PDF-1.7");
    }
}
