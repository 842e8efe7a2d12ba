//! Personal data in the event log, sealed per share request (crypto-shredding).
//!
//! A share request's events name the citizen, their documents' data, their signed statement.
//! Those fields are written to the log sealed with AES-256-GCM under the request's own data key,
//! which lives in `share_data_keys`, outside the log. Readers open them with the key; erasure
//! destroys the key, after which the fields read as empty placeholders (the events still load,
//! in order, with every audit proof intact) and the payload says `"personal_erased": true`.
//!
//! The sealed form keeps the event's shape: each personal field is replaced by an empty value of
//! its kind and the originals travel, encrypted, in one extra field of the variant. The AAD is
//! the event's place in the log (aggregate, sequence, type), so a sealed blob moved to another
//! event does not open.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;

/// The field of a sealed variant that carries its personal fields, encrypted.
pub const SEALED_FIELD: &str = "personal_sealed";
/// Set on a payload whose personal fields were erased.
pub const ERASED_FIELD: &str = "personal_erased";
const AGGREGATE: &str = "ShareRequest";

#[derive(Debug, thiserror::Error)]
pub enum PersonalDataError {
    #[error("база даних: {0}")]
    Database(#[from] sqlx::Error),
    #[error("персональні дані запиту {0} уже видалено: нових не записують")]
    Erased(String),
    #[error("персональні дані події {0} не розшифровуються: ключ або подію пошкоджено")]
    Corrupt(String),
    #[error("шифрування: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// A personal field, and the empty value that stands in for it once sealed or erased.
type PersonalField = (&'static str, fn() -> Value);

/// The personal fields of each share request event.
fn personal_fields(event_type: &str) -> &'static [PersonalField] {
    fn text() -> Value {
        Value::String(String::new())
    }
    fn list() -> Value {
        Value::Array(Vec::new())
    }
    fn none() -> Value {
        Value::Null
    }
    match event_type {
        "ShareRequestOpened" => &[("citizen", text), ("candidates", list)],
        "ShareRequestDocumentsChosen" => &[("choices", list)],
        "ShareRequestConsentSigned" => &[("statement", text), ("signature_base64", text)],
        "ShareRequestSent" => &[("copies", list), ("copy_seed", none)],
        // The mail server's reply may quote the address.
        "ShareRequestDeliveryFailed" => &[("reason", text)],
        _ => &[],
    }
}

/// Whether events of this aggregate type and event type carry personal fields.
pub fn is_personal(aggregate_type: &str, event_type: &str) -> bool {
    aggregate_type == AGGREGATE && !personal_fields(event_type).is_empty()
}

fn aad(aggregate_id: &str, sequence: i64, event_type: &str) -> Vec<u8> {
    format!("{aggregate_id}/{sequence}/{event_type}").into_bytes()
}

/// The variant object inside an externally tagged event payload (`{"Sent": {...}}`).
fn variant(payload: &mut Value) -> Option<&mut Map<String, Value>> {
    payload.as_object_mut()?.values_mut().next()?.as_object_mut()
}

/// Seals the personal fields of one event in place.
pub fn seal(payload: &mut Value, aggregate_id: &str, sequence: i64, event_type: &str, key: &[u8]) -> Result<(), PersonalDataError> {
    let fields = personal_fields(event_type);
    let Some(object) = variant(payload) else { return Ok(()) };
    let mut personal = Map::new();
    // A field the event does not carry (an optional one) stays absent: sealed or not, the
    // payload keeps its shape.
    for (name, empty) in fields {
        if let Some(value) = object.get_mut(*name) {
            personal.insert((*name).to_string(), std::mem::replace(value, empty()));
        }
    }
    if personal.is_empty() {
        return Ok(());
    }
    let plain = serde_json::to_vec(&Value::Object(personal)).map_err(|e| PersonalDataError::Corrupt(e.to_string()))?;
    let mut nonce = [0u8; 12];
    openssl::rand::rand_bytes(&mut nonce)?;
    let mut tag = [0u8; 16];
    let cipher = encrypt_aead(Cipher::aes_256_gcm(), key, Some(&nonce), &aad(aggregate_id, sequence, event_type), &plain, &mut tag)?;
    let sealed = [&nonce[..], &cipher, &tag].concat();
    object.insert(SEALED_FIELD.into(), Value::String(STANDARD.encode(sealed)));
    Ok(())
}

/// What a reader has of an event's data key.
#[derive(Debug, Clone)]
pub enum DataKey {
    /// Events written before sealing existed carry their data in clear.
    None,
    Present(Vec<u8>),
    Destroyed,
}

/// Opens the personal fields of one event in place: restored with the key, left as empty
/// placeholders (and marked) once the key is destroyed.
pub fn open(payload: &mut Value, aggregate_id: &str, sequence: i64, event_type: &str, key: &DataKey) -> Result<(), PersonalDataError> {
    let Some(object) = variant(payload) else { return Ok(()) };
    let Some(Value::String(sealed)) = object.remove(SEALED_FIELD) else { return Ok(()) };
    let key = match key {
        DataKey::Present(key) => key,
        DataKey::Destroyed | DataKey::None => {
            object.insert(ERASED_FIELD.into(), Value::Bool(true));
            return Ok(());
        }
    };
    let corrupt = || PersonalDataError::Corrupt(format!("{aggregate_id}#{sequence}"));
    let bytes = STANDARD.decode(sealed).map_err(|_| corrupt())?;
    if bytes.len() < 28 {
        return Err(corrupt());
    }
    let (nonce, rest) = bytes.split_at(12);
    let (cipher, tag) = rest.split_at(rest.len() - 16);
    let plain = decrypt_aead(Cipher::aes_256_gcm(), key, Some(nonce), &aad(aggregate_id, sequence, event_type), cipher, tag)
        .map_err(|_| corrupt())?;
    let personal: Map<String, Value> = serde_json::from_slice(&plain).map_err(|_| corrupt())?;
    object.extend(personal);
    Ok(())
}

/// Whether the payload's personal fields were erased.
pub fn is_erased(payload: &Value) -> bool {
    payload.as_object().and_then(|o| o.values().next()).and_then(|v| v.get(ERASED_FIELD)).is_some_and(|v| v == true)
}

/// The share request's data key, made on first use; refused once destroyed.
pub async fn data_key_for(conn: &mut PgConnection, share_request_id: &str) -> Result<Vec<u8>, PersonalDataError> {
    let id: Uuid = share_request_id.parse().map_err(|_| PersonalDataError::Corrupt(share_request_id.to_string()))?;
    let mut fresh = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut fresh)?;
    sqlx::query("INSERT INTO share_data_keys (share_request_id, data_key) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(&fresh)
        .execute(&mut *conn)
        .await?;
    let key: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT data_key FROM share_data_keys WHERE share_request_id = $1").bind(id).fetch_one(&mut *conn).await?;
    key.ok_or_else(|| PersonalDataError::Erased(share_request_id.to_string()))
}

/// The data keys of these share requests, as readers have them.
pub async fn data_keys(conn: &mut PgConnection, share_request_ids: &[&str]) -> Result<HashMap<String, DataKey>, PersonalDataError> {
    let ids: Vec<Uuid> = share_request_ids.iter().filter_map(|id| id.parse().ok()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT share_request_id, data_key FROM share_data_keys WHERE share_request_id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|(id, key)| (id.to_string(), key.map_or(DataKey::Destroyed, DataKey::Present))).collect())
}

/// Destroys a share request's data key: from now on its personal fields cannot be read.
pub async fn destroy_key(conn: &mut PgConnection, share_request_id: Uuid) -> Result<(), PersonalDataError> {
    sqlx::query(
        "INSERT INTO share_data_keys (share_request_id, data_key, destroyed_at) VALUES ($1, NULL, now())
         ON CONFLICT (share_request_id) DO UPDATE SET data_key = NULL, destroyed_at = coalesce(share_data_keys.destroyed_at, now())",
    )
    .bind(share_request_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Opens the personal fields of stored events read from the log, in place.
pub async fn open_stored(conn: &mut PgConnection, events: &mut [StoredEvent]) -> Result<(), PersonalDataError> {
    let ids: Vec<&str> = events.iter().filter(|e| is_personal(&e.aggregate_type, &e.event_type)).map(|e| e.aggregate_id.as_str()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let keys = data_keys(conn, &ids).await?;
    for e in events.iter_mut().filter(|e| is_personal(&e.aggregate_type, &e.event_type)) {
        let key = keys.get(&e.aggregate_id).cloned().unwrap_or(DataKey::None);
        open(&mut e.payload, &e.aggregate_id, e.sequence, &e.event_type, &key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sent() -> Value {
        json!({"Sent": {"copies": [{"document_type": "internal-passport", "fields": [{"label": "Ім'я", "value": "Мар'яна"}]}],
                        "recipient_email": "desk@palazzo.ua", "sent_at": "2026-11-26T10:03:00Z"}})
    }

    #[test]
    fn sealed_fields_are_unreadable_and_open_exactly_with_the_key() {
        let key = [7u8; 32];
        let mut payload = sent();
        seal(&mut payload, "share-1", 5, "ShareRequestSent", &key).unwrap();
        let text = payload.to_string();
        assert!(!text.contains("Мар'яна") && !text.contains("internal-passport"), "{text}");
        assert_eq!(payload["Sent"]["copies"], json!([]), "the shape stays: an empty list stands in");
        assert_eq!(payload["Sent"]["recipient_email"], "desk@palazzo.ua", "not personal: the organisation's mailbox");
        let mut opened = payload.clone();
        open(&mut opened, "share-1", 5, "ShareRequestSent", &DataKey::Present(key.to_vec())).unwrap();
        assert_eq!(opened, sent());
        // Another key, or the blob moved to another event, does not open.
        assert!(open(&mut payload.clone(), "share-1", 5, "ShareRequestSent", &DataKey::Present(vec![8; 32])).is_err());
        assert!(open(&mut payload.clone(), "share-1", 6, "ShareRequestSent", &DataKey::Present(key.to_vec())).is_err());
        // Once the key is destroyed: placeholders, marked erased.
        let mut erased = payload.clone();
        open(&mut erased, "share-1", 5, "ShareRequestSent", &DataKey::Destroyed).unwrap();
        assert!(is_erased(&erased));
        assert_eq!(erased["Sent"]["copies"], json!([]));
        assert!(erased["Sent"].get(SEALED_FIELD).is_none());
    }

    #[test]
    fn events_without_personal_fields_and_plain_old_events_pass_through() {
        let mut delivered = json!({"Delivered": {"accepted_at": "2026-11-26T10:03:01Z", "message_id": "<x@y>"}});
        let before = delivered.clone();
        seal(&mut delivered, "share-1", 6, "ShareRequestDelivered", &[1; 32]).unwrap();
        assert_eq!(delivered, before);
        let mut plain = sent();
        open(&mut plain, "share-1", 5, "ShareRequestSent", &DataKey::None).unwrap();
        assert_eq!(plain, sent());
        assert!(!is_personal("Partner", "ShareRequestSent"));
    }
}
