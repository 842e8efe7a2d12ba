//! Checking an export offline, with nothing but the file and the published certificates: the
//! checkpoint's signatures, the sealed manifest, each entry's inclusion proof, the chains that
//! link a partner's and a share's entries, and each consent signature. The first line that does
//! not hold is named, with what is wrong with it.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::x509::X509;
use serde_json::Value;

use super::export::FORMAT;
use crate::audit::tree::{leaf_hash, verify_inclusion, Hash};
use crate::audit::{canonical_json, open_note, Checkpoint, LogVerifier};
use crate::digest::sha256_hex;
use crate::seal::verify_detached;

/// Why an export does not verify: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("рядок {line}: {problem}")]
pub struct ExportRejected {
    /// 1-based line of the file.
    pub line: usize,
    pub problem: String,
}

/// What a verified export holds.
#[derive(Debug, Clone)]
pub struct ExportVerified {
    pub checkpoint: Checkpoint,
    pub entries: u64,
    pub consents: u64,
    /// The trust came from the file's own certificates and key: the caller pinned none.
    pub self_asserted: bool,
}

/// What the auditor trusts, if not the file's own word.
#[derive(Default)]
pub struct Trust {
    /// The CA certificates that must verify the seal and the consent signatures.
    pub anchors: Option<Vec<X509>>,
    /// The log's verifier key (`name+id+key`).
    pub log_key: Option<String>,
}

fn reject(line: usize, problem: impl Into<String>) -> ExportRejected {
    ExportRejected { line, problem: problem.into() }
}

/// Verifies an export read line by line; memory stays flat but for the set of indexes seen.
pub fn verify_export(lines: impl Iterator<Item = std::io::Result<String>>, trust: &Trust) -> Result<ExportVerified, ExportRejected> {
    let mut lines = lines.enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines.next().ok_or_else(|| reject(1, "файл порожній"))?;
    let header: Value = header
        .map_err(|e| reject(1, format!("не читається: {e}")))
        .and_then(|h| serde_json::from_str(&h).map_err(|e| reject(1, format!("заголовок не JSON: {e}"))))?;
    if header["format"] != FORMAT {
        return Err(reject(1, format!("це не вивантаження формату {FORMAT}")));
    }
    let text = |key: &str| header[key].as_str().ok_or_else(|| reject(1, format!("у заголовку бракує «{key}»")));
    let anchors = match &trust.anchors {
        Some(anchors) => anchors.clone(),
        None => X509::stack_from_pem(text("certificates")?.as_bytes()).map_err(|e| reject(1, format!("сертифікати не PEM: {e}")))?,
    };
    let log_key = trust.log_key.clone().map_or_else(|| text("log_key").map(str::to_string), Ok)?;
    let verifier = LogVerifier::parse(&log_key).map_err(|e| reject(1, format!("ключ журналу: {e}")))?;
    let note = text("checkpoint")?;
    let checkpoint = open_note(note, &verifier).map_err(|e| reject(1, format!("контрольна точка: {e}")))?;
    if checkpoint.origin != text("origin")? {
        return Err(reject(1, "контрольна точка належить іншому журналу"));
    }
    let sealed = STANDARD.decode(text("checkpoint_cms")?).map_err(|_| reject(1, "печатка контрольної точки не base64"))?;
    verify_detached(&sealed, checkpoint.body().as_bytes(), &anchors).map_err(|e| reject(1, format!("печатка контрольної точки: {e}")))?;
    let manifest = &header["manifest"];
    let sealed = STANDARD.decode(text("manifest_cms")?).map_err(|_| reject(1, "печатка переліку не base64"))?;
    let manifest_bytes = canonical_json(manifest).map_err(|e| reject(1, format!("перелік: {e}")))?;
    verify_detached(&sealed, &manifest_bytes, &anchors).map_err(|e| reject(1, format!("печатка переліку записів: {e}")))?;
    if manifest["tree_size"].as_u64() != Some(checkpoint.size) || manifest["filter"] != header["filter"] {
        return Err(reject(1, "перелік записів не відповідає контрольній точці або фільтру"));
    }
    let filter = &header["filter"];
    let whole = filter.as_object().is_none_or(|f| f.is_empty());
    let by_partner = filter["partner_id"].is_string();

    let mut seen = HashSet::new();
    let mut previous_index: Option<u64> = None;
    let mut first_index: Option<u64> = None;
    let mut pending_gap: Option<ExportRejected> = None;
    let mut indexes = String::new();
    let mut consents = 0u64;
    let mut last_line = 1;
    for (number, line) in lines {
        last_line = number;
        let line = line.map_err(|e| reject(number, format!("не читається: {e}")))?;
        if line.is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(&line).map_err(|e| reject(number, format!("не JSON: {e}")))?;
        let index = record["index"].as_u64().ok_or_else(|| reject(number, "бракує номера запису"))?;
        let entry = &record["entry"];
        if entry["index"].as_u64() != Some(index) {
            return Err(reject(number, format!("запис №{index}: номер у записі інший — запис змінено")));
        }
        if index >= checkpoint.size {
            return Err(reject(number, format!("запис №{index} поза контрольною точкою ({} записів)", checkpoint.size)));
        }
        if let Some(p) = previous_index.filter(|&p| index <= p) {
            return Err(reject(number, format!("запис №{index} стоїть після №{p}: порядок записів змінено")));
        }
        // A gap in a whole export is a dropped entry, unless the next line brings the missing
        // one back: then two lines were swapped, which the check above names.
        if let Some(gap) = pending_gap.take() {
            return Err(gap);
        }
        let expected = previous_index.map_or(0, |p| p + 1);
        if whole && index != expected {
            pending_gap = Some(reject(number, format!("бракує запису №{expected}: його вилучено")));
        }
        let bytes = canonical_json(entry).map_err(|e| reject(number, format!("запис №{index}: {e}")))?;
        let proof = record["inclusion_proof"]
            .as_array()
            .ok_or_else(|| reject(number, "бракує доказу включення"))?
            .iter()
            .map(|h| h.as_str().and_then(|h| STANDARD.decode(h).ok()).and_then(|h| Hash::try_from(h).ok()))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| reject(number, "доказ включення пошкоджено"))?;
        verify_inclusion(&leaf_hash(&bytes), index, checkpoint.size, &proof, &checkpoint.root)
            .map_err(|_| reject(number, format!("запис №{index} змінено: він не входить до дерева контрольної точки")))?;
        // A chain link to an entry this export should hold but does not: a dropped line.
        for chain in ["partner", "share"] {
            let Some(linked) = entry["previous"][chain].as_u64() else { continue };
            let expected_here = (chain == "partner" && by_partner) || chain == "share";
            if expected_here && first_index.is_some_and(|first| linked > first) && !seen.contains(&linked) {
                return Err(reject(number, format!("бракує запису №{linked}, на який посилається №{index}: його вилучено")));
            }
        }
        if let Some(consent) = record["evidence"].get("consent") {
            let statement = consent["statement"].as_str().ok_or_else(|| reject(number, "згода без тексту заяви"))?;
            if Some(sha256_hex(statement.as_bytes()).as_str()) != entry["facts"]["statement_sha256"].as_str() {
                return Err(reject(number, format!("запис №{index}: текст заяви не той, що підписано")));
            }
            let signature = consent["signature"]
                .as_str()
                .and_then(|s| STANDARD.decode(s).ok())
                .ok_or_else(|| reject(number, "підпис згоди не base64"))?;
            verify_detached(&signature, statement.as_bytes(), &anchors)
                .map_err(|e| reject(number, format!("запис №{index}: підпис згоди громадянина не перевіряється: {e}")))?;
            consents += 1;
        }
        if !indexes.is_empty() {
            indexes.push(',');
        }
        indexes.push_str(&index.to_string());
        seen.insert(index);
        first_index.get_or_insert(index);
        previous_index = Some(index);
    }
    if let Some(gap) = pending_gap {
        return Err(gap);
    }
    let count = seen.len() as u64;
    if manifest["entries"].as_u64() != Some(count) || manifest["indexes_sha256"].as_str() != Some(sha256_hex(indexes.as_bytes()).as_str()) {
        return Err(reject(
            last_line,
            format!("у файлі {count} записів, а запечатаний перелік називає {}: записи вилучено або додано", manifest["entries"]),
        ));
    }
    Ok(ExportVerified { checkpoint, entries: count, consents, self_asserted: trust.anchors.is_none() || trust.log_key.is_none() })
}
