//! Names a citizen reads when confirming: branch names and service names, and the folding that
//! stops "Дія", "дія!" and "Дiя" (with a Latin i) from slipping past the forbidden-name rules.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("назва не може бути порожньою")]
    Empty,
    #[error("назва задовга: {0} символів, можна до {1}")]
    TooLong(usize, usize),
    #[error("«{0}» не є назвою організації: вкажіть повну назву організації чи підрозділу, напр. «Готель «Палаццо»»")]
    ForbiddenBranchName(String),
    #[error("«{0}» не може бути назвою послуги: назва має показувати мету обробки персональних даних, напр. «для поселення у готель»")]
    ForbiddenServiceName(String),
    #[error("назва послуги «{0}» має починатися зі слова «для» і вказувати мету, напр. «для працевлаштування»")]
    ServiceNameWithoutPurpose(String),
    #[error("назва послуги «{0}» повторюється")]
    DuplicateServiceName(String),
}

/// Latin letters that look like Cyrillic ones, mapped to the Cyrillic letter a reader sees.
const LOOKALIKES: &[(char, char)] = &[
    ('a', 'а'),
    ('b', 'в'),
    ('c', 'с'),
    ('e', 'е'),
    ('h', 'н'),
    ('i', 'і'),
    ('k', 'к'),
    ('m', 'м'),
    ('o', 'о'),
    ('p', 'р'),
    ('t', 'т'),
    ('x', 'х'),
    ('y', 'у'),
    ('ï', 'ї'),
    ('3', 'з'),
    ('0', 'о'),
];

/// Folds a name for comparison: lower case, Latin look-alikes to Cyrillic, every run of spaces
/// and punctuation to one space, trimmed. "  ДIЯ!!" and "дія" fold to the same text.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_space = false;
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            let ch = LOOKALIKES.iter().find(|(latin, _)| *latin == ch).map_or(ch, |(_, cyr)| *cyr);
            out.push(ch);
        } else {
            // Apostrophes inside a word (Мар'яна) are not word breaks.
            if !matches!(ch, '\'' | '’' | 'ʼ' | '`') {
                pending_space = true;
            }
        }
    }
    out
}

/// Forms of the word "Дія" (the service's own brand): a name made of it, or using it as a
/// word, would make citizens think Diia itself is asking.
const BRAND_FORMS: &[&str] = &["дія", "дії", "дію", "дією", "діє"];

fn uses_brand(folded: &str) -> bool {
    folded.split(' ').any(|w| BRAND_FORMS.contains(&w))
}

const FORBIDDEN_BRANCH_NAMES: &[&str] = &["ідентифікація", "впровадження дії", "дія готель", "дія"];
const FORBIDDEN_SERVICE_NAMES: &[&str] = &["впровадження дії", "дія готель", "дія"];

fn checked_text(raw: &str, max: usize) -> Result<String, NameError> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    let len = text.chars().count();
    if len > max {
        return Err(NameError::TooLong(len, max));
    }
    Ok(text)
}

/// The detailed name of an organisation or its unit, as citizens see it when they confirm.
///
/// `parse` is the only validating constructor. Deserialising is for stored data only: it takes
/// the stored text as it is, so an event recorded before a rule became stricter still loads.
/// Never deserialise this type from untrusted input; take a `String` and call `parse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchName(String);

impl BranchName {
    pub const MAX_CHARS: usize = 200;
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let text = checked_text(raw, Self::MAX_CHARS)?;
        let folded = fold(&text);
        if folded.chars().count() < 3 || FORBIDDEN_BRANCH_NAMES.contains(&folded.as_str()) || uses_brand(&folded) {
            return Err(NameError::ForbiddenBranchName(text));
        }
        Ok(Self(text))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One service name: it states the purpose of processing personal data ("для поселення у готель").
///
/// `parse` is the only validating constructor. Deserialising is for stored data only: it takes
/// the stored text as it is, so an event recorded before a rule became stricter still loads.
/// Never deserialise this type from untrusted input; take a `String` and call `parse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceName(String);

impl ServiceName {
    pub const MAX_CHARS: usize = 200;
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let text = checked_text(raw, Self::MAX_CHARS)?;
        let folded = fold(&text);
        if FORBIDDEN_SERVICE_NAMES.contains(&folded.as_str()) || uses_brand(&folded) {
            return Err(NameError::ForbiddenServiceName(text));
        }
        // Every good example in the description names a purpose beginning with "для"; requiring
        // it is the one check a machine can make that the name states a purpose at all.
        if !folded.starts_with("для ") {
            return Err(NameError::ServiceNameWithoutPurpose(text));
        }
        Ok(Self(text))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Several services needing the same documents share one QR: their names separated by commas.
    pub fn parse_list(raw: &str) -> Result<Vec<Self>, NameError> {
        let mut names: Vec<Self> = Vec::new();
        for part in raw.split(',') {
            let name = Self::parse(part)?;
            if names.iter().any(|n| fold(&n.0) == fold(&name.0)) {
                return Err(NameError::DuplicateServiceName(name.0));
            }
            names.push(name);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_spacing_punctuation_and_latin_lookalikes() {
        assert_eq!(fold("  Дія!! "), "дія");
        assert_eq!(fold("Дiя"), "дія"); // Latin i
        assert_eq!(fold("ДIЯ"), "дія"); // Latin capital I
        assert_eq!(fold("Дія-Готель"), "дія готель");
        assert_eq!(fold("Мар'яна"), fold("Мар’яна"));
    }

    #[test]
    fn good_branch_names_from_the_description_pass() {
        for good in [
            "Тернопільський кооперативний фаховий коледж",
            "Готель «Палаццо»",
            "ЦНАП Житомирської міської ради",
            "Відділення №1 (ТОВ «Ґражда»)",
        ] {
            assert_eq!(BranchName::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn forbidden_branch_names_are_refused_however_they_are_written() {
        for bad in [
            "ідентифікація",
            "ІДЕНТИФІКАЦІЯ.",
            "Впровадження Дії",
            "впровадження   дії!",
            "Дія готель",
            "Дiя-готель",
            "Дія",
            "  дія ",
            "ДIЯ",
            "Готель Дія",
        ] {
            assert!(matches!(BranchName::parse(bad), Err(NameError::ForbiddenBranchName(_))), "{bad} must be refused");
        }
        assert_eq!(BranchName::parse("   "), Err(NameError::Empty));
    }

    #[test]
    fn service_names_state_a_purpose_and_may_be_listed_with_commas() {
        let names = ServiceName::parse_list("для поселення у готель, для надання адміністративних послуг").unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(names[1].as_str(), "для надання адміністративних послуг");
        assert!(matches!(ServiceName::parse("Дія"), Err(NameError::ForbiddenServiceName(_))));
        assert!(matches!(ServiceName::parse("Дiя готель"), Err(NameError::ForbiddenServiceName(_))));
        assert!(matches!(ServiceName::parse("впровадження ДІЇ"), Err(NameError::ForbiddenServiceName(_))));
        assert!(matches!(ServiceName::parse("поселення"), Err(NameError::ServiceNameWithoutPurpose(_))));
        assert!(matches!(ServiceName::parse_list("для вступу, ДЛЯ  вступу"), Err(NameError::DuplicateServiceName(_))));
        assert_eq!(ServiceName::parse_list("для вступу,"), Err(NameError::Empty));
    }

    #[test]
    fn stored_names_load_as_they_were_written_even_when_parse_would_refuse_them() {
        let branch: BranchName = serde_json::from_str("\"Дія\"").unwrap();
        let service: ServiceName = serde_json::from_str("\"поселення\"").unwrap();
        assert!(BranchName::parse("Дія").is_err() && ServiceName::parse("поселення").is_err());
        assert_eq!((branch.as_str(), service.as_str()), ("Дія", "поселення"));
        assert_eq!(serde_json::to_string(&branch).unwrap(), "\"Дія\"");
    }
}
