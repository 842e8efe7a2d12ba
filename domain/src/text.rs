//! Text a person typed, made to mean what it shows before any rule reads it: Unicode NFKC (so a
//! full-width «Ｄ» or a ligature is the letter it looks like; the numero sign № stays itself), every run of white space one space,
//! and no invisible characters at all. Control characters (Cc, a NUL among them), format
//! characters (Cf: zero-width spaces and joiners, bidirectional overrides, the soft hyphen, the
//! BOM) and private-use characters (Co) are refused rather than dropped: a name that displays as
//! «Дія» while holding something else must not reach the forbidden-name rules in pieces, and a
//! refusal tells the person what was wrong with what they pasted.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("поле не може бути порожнім")]
    Empty,
    #[error("задовгий текст: {0} символів, можна до {1}")]
    TooLong(usize, usize),
    #[error("текст містить невидимий або керівний символ {0}: введіть його без цього символу")]
    Invisible(String),
}

/// One line of text, at most `max` characters after normalising. White space of any kind
/// (tabs, line breaks, no-break spaces) becomes one space; anything invisible is refused.
pub fn line(raw: &str, max: usize) -> Result<String, TextError> {
    // A text many times too long is refused before it is normalised: the cost of a refusal must
    // not grow with what an attacker sends (NFKC may at most triple a text's length).
    let raw_chars = raw.chars().count();
    if raw_chars > max.saturating_mul(4).max(64) {
        return Err(TextError::TooLong(raw_chars, max));
    }
    if let Some(ch) = raw.chars().find(|&c| is_invisible(c)) {
        return Err(TextError::Invisible(format!("U+{:04X}", ch as u32)));
    }
    // NFKC would turn the numero sign into «No», which is not what Ukrainian text means by it.
    let normalised = raw.split('№').map(|part| part.nfkc().collect::<String>()).collect::<Vec<_>>().join("№");
    let text = normalised.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    let len = text.chars().count();
    if len > max {
        return Err(TextError::TooLong(len, max));
    }
    Ok(text)
}

/// An optional line: absent, or blank, is `None`; otherwise the same rules as [`line`].
pub fn optional_line(raw: Option<&str>, max: usize) -> Result<Option<String>, TextError> {
    match raw {
        None => Ok(None),
        Some(raw) => match line(raw, max) {
            Err(TextError::Empty) => Ok(None),
            other => other.map(Some),
        },
    }
}

/// Characters that show nothing or steer how the rest shows. White space is not among them: it
/// is folded to one space instead.
fn is_invisible(c: char) -> bool {
    if c.is_whitespace() {
        return false;
    }
    matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format | GeneralCategory::PrivateUse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_control_characters_are_refused_with_their_code_point() {
        for (raw, cp) in [
            ("Ді\u{200B}я", "U+200B"),   // zero-width space
            ("Ді\u{200D}я", "U+200D"),   // zero-width joiner
            ("\u{202E}яіД", "U+202E"),   // right-to-left override
            ("Ді\u{00AD}я", "U+00AD"),   // soft hyphen
            ("\u{FEFF}Дія", "U+FEFF"),   // byte order mark
            ("Ді\u{2066}я", "U+2066"),   // left-to-right isolate
            ("Дія\u{0000}", "U+0000"),   // NUL
            ("Дія\u{0007}", "U+0007"),   // bell
            ("Дія\u{E000}", "U+E000"),   // private use
            ("Д\u{E0069}ія", "U+E0069"), // tag letter
        ] {
            assert_eq!(line(raw, 200), Err(TextError::Invisible(cp.into())), "{raw:?}");
        }
    }

    #[test]
    fn compatibility_forms_become_the_letters_they_show_and_white_space_one_space() {
        assert_eq!(line("Ｄｉｉａ", 50).unwrap(), "Diia"); // full-width
        assert_eq!(line("ﬁрма", 50).unwrap(), "fiрма"); // ligature
        assert_eq!(line("Відділення №1", 50).unwrap(), "Відділення №1");
        assert_eq!(line("  Готель\u{00A0}«Палаццо»\t\n", 50).unwrap(), "Готель «Палаццо»");
        assert_eq!(line("вул.\u{2028}Ґедзя", 50).unwrap(), "вул. Ґедзя"); // line separator
        assert_eq!(line("Мар'яна Ґонта-Їжак, Єлисаветград", 50).unwrap(), "Мар'яна Ґонта-Їжак, Єлисаветград");
    }

    #[test]
    fn length_is_counted_in_characters_after_normalising_and_a_flood_is_refused_unread() {
        assert_eq!(line(&"ї".repeat(200), 200).unwrap().chars().count(), 200);
        assert_eq!(line(&"ї".repeat(201), 200), Err(TextError::TooLong(201, 200)));
        assert_eq!(line(&"a".repeat(60_000), 200), Err(TextError::TooLong(60_000, 200)));
        assert_eq!(line(" \t ", 10), Err(TextError::Empty));
        assert_eq!(optional_line(Some("  "), 10), Ok(None));
        assert_eq!(optional_line(None, 10), Ok(None));
        assert_eq!(optional_line(Some(" р-н "), 10), Ok(Some("р-н".into())));
    }
}
