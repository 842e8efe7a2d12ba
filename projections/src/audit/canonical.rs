//! Canonical JSON (RFC 8785, JCS): the exact bytes an audit entry's leaf hash commits to.
//!
//! Written out here rather than left to serde_json, because the hash must not change with a
//! feature flag (`preserve_order` changes map order) or a serializer's escaping choices, and an
//! auditor has to be able to redo these few rules in any language. Entries hold no floats
//! (AUDIT-LOG.md), so JCS's one hard part, ECMAScript number formatting, is refused instead of
//! implemented: every integer we accept prints the same in every JCS implementation.

use serde_json::{Map, Value};

/// The largest integer magnitude every JSON reader holds exactly (I-JSON, RFC 7493 §2.2): 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical form here; `path` locates the value, as in `$.consent.documents[2]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number held as floating point (even `3.0`): audit entries carry integers only.
    #[error("число {number} у {path} не ціле: записи журналу аудиту містять лише цілі числа")]
    NotAnInteger { path: String, number: String },
    /// An integer beyond ±(2^53 − 1), which JavaScript and other I-JSON readers would round.
    #[error("ціле число {number} у {path} поза межами ±(2^53 − 1), тож не всі читачі JSON прочитають його точно")]
    IntegerOutOfRange { path: String, number: String },
}

/// The RFC 8785 bytes of `value`: keys sorted by UTF-16 code units, no whitespace, JCS escapes.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    write_value(&mut out, value, &mut path)?;
    Ok(out)
}

/// One step from the root to a value, kept as a stack so a path is only formatted on error.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn write_value<'a>(out: &mut Vec<u8>, value: &'a Value, path: &mut Vec<Step<'a>>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_integer(out, number, path)?,
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                path.push(Step::Index(index));
                write_value(out, item, path)?;
                path.pop();
            }
            out.push(b']');
        }
        Value::Object(members) => write_object(out, members, path)?,
    }
    Ok(())
}

fn write_object<'a>(out: &mut Vec<u8>, members: &'a Map<String, Value>, path: &mut Vec<Step<'a>>) -> Result<(), CanonicalError> {
    // JCS orders keys by their UTF-16 code units, not by code points or UTF-8 bytes: the two
    // differ once a key holds a character above U+FFFF next to one in U+E000..U+FFFF.
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push(b'{');
    for (position, (key, member)) in sorted.into_iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        path.push(Step::Key(key));
        write_value(out, member, path)?;
        path.pop();
    }
    out.push(b'}');
    Ok(())
}

fn write_integer(out: &mut Vec<u8>, number: &serde_json::Number, path: &[Step<'_>]) -> Result<(), CanonicalError> {
    if number.is_f64() {
        return Err(CanonicalError::NotAnInteger { path: format_path(path), number: number.to_string() });
    }
    // Not a float, so serde_json holds it as i64 or u64; a u64 that does not fit i64 is far
    // beyond 2^53 anyway.
    match number.as_i64() {
        Some(integer) if integer.unsigned_abs() <= MAX_SAFE_INTEGER => {
            out.extend_from_slice(integer.to_string().as_bytes());
            Ok(())
        }
        _ => Err(CanonicalError::IntegerOutOfRange { path: format_path(path), number: number.to_string() }),
    }
}

/// A JSON string as JCS writes it (RFC 8785 §3.2.2.2, which defers to ECMAScript's
/// `JSON.stringify`): `"` and `\` escaped, the five short control escapes, other controls below
/// U+0020 as `\u00xx` in lower-case hex, everything else as literal UTF-8.
fn write_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut literal_from = 0;
    // Scanning bytes is safe: every byte of a multi-byte UTF-8 sequence is 0x80 or above, so
    // none of them matches an ASCII byte below.
    for (at, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[literal_from..at]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        } else {
            out.extend_from_slice(short);
        }
        literal_from = at + 1;
    }
    out.extend_from_slice(&bytes[literal_from..]);
    out.push(b'"');
}

fn format_path(path: &[Step<'_>]) -> String {
    let mut text = String::from("$");
    for step in path {
        match step {
            Step::Key(key) if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                text.push('.');
                text.push_str(key);
            }
            Step::Key(key) => text.push_str(&format!("[{key:?}]")),
            Step::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        String::from_utf8(canonical_json(value).unwrap()).unwrap()
    }

    #[test]
    fn keys_sort_by_utf16_code_units_as_in_rfc_8785_section_3_2_3() {
        // The example of RFC 8785 §3.2.3. The emoji (U+1F600, surrogates D83D DE00) sorts
        // before U+FB33 in UTF-16 order although it comes after it by code point.
        let value: Value = serde_json::from_str(
            r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
                "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
                "\u00f6": "Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let keys_in_order = ["\\r", "1", "\u{80}", "ö", "€", "😀", "\u{fb33}"];
        let text = canonical(&value);
        let positions: Vec<usize> = keys_in_order.iter().map(|key| text.find(&format!("\"{key}\":")).unwrap()).collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
        assert!(text.starts_with("{\"\\r\":\"Carriage Return\",\"1\":\"One\","), "{text}");
    }

    #[test]
    fn ukrainian_keys_sort_after_latin_and_by_code_unit() {
        // Ґ (U+0490) and Є (U+0404), І (U+0406), Ї (U+0407) sit outside А..я: code-unit order,
        // not the alphabet's, is what JCS asks for.
        let value = json!({"я": 1, "Ґ": 2, "а": 3, "Є": 4, "z": 5, "Ї": 6, "І": 7, "A": 8});
        assert_eq!(canonical(&value), r#"{"A":8,"z":5,"Є":4,"І":7,"Ї":6,"а":3,"я":1,"Ґ":2}"#);
    }

    #[test]
    fn strings_escape_exactly_as_rfc_8785_section_3_2_2_2() {
        // The string of RFC 8785 §3.2.2.2's example: `/` stays literal, U+000F becomes
        // lower-case `\u000f`.
        let value: Value = serde_json::from_str(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#).unwrap();
        assert_eq!(canonical(&value), r#""€$\u000f\nA'B\"\\\\\"/""#);
        let controls = Value::String("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}\u{2028}".into());
        assert_eq!(canonical(&controls), "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f \u{7f}\u{2028}\"");
    }

    #[test]
    fn ukrainian_text_with_apostrophes_stays_literal_utf8() {
        let text = "Ґанок «Їжачок»: пʼять об’єктів, Єдиний ІТ-центр, м'ята";
        let bytes = canonical_json(&json!({"назва": text})).unwrap();
        assert_eq!(bytes, format!("{{\"назва\":\"{text}\"}}").into_bytes());
    }

    #[test]
    fn nested_arrays_and_objects_have_no_whitespace() {
        let value = json!({"b": [1, [true, null], {"d": [], "c": {}}], "a": {"y": -7, "x": "ї"}, "": 0});
        assert_eq!(canonical(&value), r#"{"":0,"a":{"x":"ї","y":-7},"b":[1,[true,null],{"c":{},"d":[]}]}"#);
    }

    #[test]
    fn integers_up_to_two_to_the_53_minus_one_print_plainly() {
        let value = json!([0, -0, 9_007_199_254_740_991_i64, -9_007_199_254_740_991_i64]);
        assert_eq!(canonical(&value), "[0,0,9007199254740991,-9007199254740991]");
    }

    #[test]
    fn a_float_is_refused_with_its_path() {
        let value = json!({"entry": {"documents": [1, 2.5]}});
        assert_eq!(canonical_json(&value), Err(CanonicalError::NotAnInteger { path: "$.entry.documents[1]".into(), number: "2.5".into() }));
        // Integral but held as a float: refused too, since its origin was a float type.
        assert!(matches!(canonical_json(&json!(3.0)), Err(CanonicalError::NotAnInteger { .. })));
        let parsed: Value = serde_json::from_str(r#"{"a b": 1e2}"#).unwrap();
        assert_eq!(canonical_json(&parsed), Err(CanonicalError::NotAnInteger { path: "$[\"a b\"]".into(), number: "100.0".into() }));
    }

    #[test]
    fn integers_beyond_the_safe_range_are_refused() {
        for number in [json!(9_007_199_254_740_992_i64), json!(-9_007_199_254_740_992_i64), json!(u64::MAX)] {
            let error = canonical_json(&json!({"size": [number]})).unwrap_err();
            assert!(matches!(&error, CanonicalError::IntegerOutOfRange { path, .. } if path == "$.size[0]"), "{error}");
        }
    }
}
