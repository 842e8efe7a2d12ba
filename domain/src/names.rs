//! Names a citizen reads when confirming: branch names and service names, and the folding that
//! stops "Дія", "дія!" and "Дiя" (with a Latin i) from slipping past the forbidden-name rules.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::text::{self, TextError};

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
    #[error("назва містить невидимий або керівний символ {0}: введіть її без цього символу")]
    Invisible(String),
    #[error("назва «{0}» містить посилання чи адресу електронної пошти: громадянин бачить назву в Дії, тож вона має бути лише назвою")]
    LinkOrEmail(String),
    #[error("у послуги може бути до {0} назв")]
    TooManyServiceNames(usize),
}

impl From<TextError> for NameError {
    fn from(e: TextError) -> Self {
        match e {
            TextError::Empty => Self::Empty,
            TextError::TooLong(len, max) => Self::TooLong(len, max),
            TextError::Invisible(cp) => Self::Invisible(cp),
        }
    }
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
/// and punctuation to one space, trimmed, and letters spelled out one at a time joined again.
/// "  ДIЯ!!", "Д.І.Я" and "дія" fold to the same text.
pub fn fold(name: &str) -> String {
    let mut words: Vec<String> = vec![String::new()];
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            let ch = LOOKALIKES.iter().find(|(latin, _)| *latin == ch).map_or(ch, |(_, cyr)| *cyr);
            words.last_mut().expect("at least one word").push(ch);
        } else if !matches!(ch, '\'' | '’' | 'ʼ' | '`') && !words.last().is_some_and(String::is_empty) {
            // Apostrophes inside a word (Мар'яна) are not word breaks.
            words.push(String::new());
        }
    }
    // "Д і я", "Д-І-Я": a run of single letters is one word spelled out.
    let mut out: Vec<String> = Vec::new();
    let mut spelled = false;
    for word in words.into_iter().filter(|w| !w.is_empty()) {
        let single = word.chars().count() == 1;
        match out.last_mut() {
            Some(last) if single && spelled => last.push_str(&word),
            _ => out.push(word),
        }
        spelled = single;
    }
    out.join(" ")
}

/// What a folded name looks like, per Unicode's confusables (UTS #39 skeleton, then lower
/// case): two names with one key read the same to a citizen, whatever scripts they mix.
fn look(folded: &str) -> String {
    unicode_security::skeleton(folded).flat_map(char::to_lowercase).collect()
}

/// Forms of the word "Дія" (the service's own brand): a name made of it, or using it as a
/// word, would make citizens think Diia itself is asking.
const BRAND_FORMS: &[&str] = &["дія", "дії", "дію", "дією", "діє"];

const FORBIDDEN_BRANCH_NAMES: &[&str] = &["ідентифікація", "впровадження дії", "дія готель", "дія"];
const FORBIDDEN_SERVICE_NAMES: &[&str] = &["впровадження дії", "дія готель", "дія"];

fn looks_of(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| look(&fold(s))).collect()
}

static BRAND_LOOKS: LazyLock<Vec<String>> = LazyLock::new(|| looks_of(BRAND_FORMS));
static FORBIDDEN_BRANCH_LOOKS: LazyLock<Vec<String>> = LazyLock::new(|| looks_of(FORBIDDEN_BRANCH_NAMES));
static FORBIDDEN_SERVICE_LOOKS: LazyLock<Vec<String>> = LazyLock::new(|| looks_of(FORBIDDEN_SERVICE_NAMES));

fn uses_brand(looks: &str) -> bool {
    looks.split(' ').any(|w| BRAND_LOOKS.iter().any(|b| b == w))
}

/// Top-level domains written in Cyrillic that Ukrainian names may carry.
const CYRILLIC_TLDS: &[&str] = &["укр", "рф", "бг", "срб", "мон", "бел", "қаз"];

/// A link or an e-mail address in a name would let a partner advertise, or phish, on the screen
/// where a citizen decides. Caught: a scheme (`://`), `www.`, an `@` between characters, and a
/// dotted host name whose last label is a top-level domain (`bit.ly`, `palazzo.ua`, `дія.укр`).
/// "м. Київ", "ім.Шевченка" and "№1.2" are not hosts: their last label is not a domain's.
fn carries_link_or_email(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("://") || lower.contains("www.") {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    if chars.windows(3).any(|w| w[1] == '@' && w[0].is_alphanumeric() && w[2].is_alphanumeric()) {
        return true;
    }
    lower.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-')).filter(|token| token.contains('.')).any(|token| {
        let labels: Vec<&str> = token.trim_matches('.').split('.').collect();
        let Some((tld, rest)) = labels.split_last() else { return false };
        let host_like = !rest.is_empty() && rest.iter().all(|l| !l.is_empty());
        let tld_like = (2..=24).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_lowercase()) || CYRILLIC_TLDS.contains(tld);
        host_like && tld_like
    })
}

fn checked_text(raw: &str, max: usize) -> Result<String, NameError> {
    let text = text::line(raw, max)?;
    if carries_link_or_email(&text) {
        return Err(NameError::LinkOrEmail(text));
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
        let looks = look(&folded);
        if folded.chars().count() < 3 || FORBIDDEN_BRANCH_LOOKS.contains(&looks) || uses_brand(&looks) {
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
    /// One QR serves at most this many services (names): the citizen reads them all on one screen.
    pub const MAX_NAMES: usize = 10;
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let text = checked_text(raw, Self::MAX_CHARS)?;
        let folded = fold(&text);
        let looks = look(&folded);
        if FORBIDDEN_SERVICE_LOOKS.contains(&looks) || uses_brand(&looks) {
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
        let parts: Vec<&str> = raw.split(',').collect();
        if parts.len() > Self::MAX_NAMES {
            return Err(NameError::TooManyServiceNames(Self::MAX_NAMES));
        }
        let mut names: Vec<Self> = Vec::new();
        for part in parts {
            let name = Self::parse(part)?;
            if names.iter().any(|n| look(&fold(&n.0)) == look(&fold(&name.0))) {
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
    fn names_that_display_as_a_forbidden_one_are_refused_too() {
        // Each displays as «Дія» (or spells it) to a citizen.
        for bad in ["Д і я", "Д.І.Я.", "Д-і-я готель", "ДІЯ", "Дiя", "Д\u{0456}я"] {
            let refused = BranchName::parse(bad);
            assert!(matches!(refused, Err(NameError::ForbiddenBranchName(_))), "{bad} must be refused: {refused:?}");
        }
        // Mixed scripts the table of look-alikes never listed: Greek iota, Cyrillic-looking Latin.
        assert!(matches!(BranchName::parse("Дɪя"), Err(NameError::ForbiddenBranchName(_))), "small capital I");
        assert!(matches!(BranchName::parse("Дιя"), Err(NameError::ForbiddenBranchName(_))), "Greek iota");
        assert!(matches!(BranchName::parse("Ідентифiкацiя"), Err(NameError::ForbiddenBranchName(_))));
        assert!(matches!(ServiceName::parse("для Д і я"), Err(NameError::ForbiddenServiceName(_))));
        assert!(matches!(ServiceName::parse_list("для вступу, для вcтупу"), Err(NameError::DuplicateServiceName(_))), "Latin c");
    }

    #[test]
    fn invisible_characters_are_refused_not_hidden() {
        for bad in ["Ді\u{200B}я", "Д\u{00AD}ія", "\u{202E}яіД", "\u{FEFF}Дія", "Дія\u{0000}"] {
            assert!(matches!(BranchName::parse(bad), Err(NameError::Invisible(_))), "{bad:?}");
            assert!(matches!(ServiceName::parse(&format!("для {bad}")), Err(NameError::Invisible(_))), "{bad:?}");
        }
    }

    #[test]
    fn links_and_email_addresses_are_not_names() {
        for bad in [
            "Готель https://evil.example",
            "Готель www.palazzo",
            "Готель palazzo.ua",
            "Пишіть desk@palazzo.ua",
            "Знижки на bit.ly/abc",
            "Готель дія.укр",
            "Готель ＰＡＬＡＺＺＯ．ＵＡ",
        ] {
            assert!(matches!(BranchName::parse(bad), Err(NameError::LinkOrEmail(_))), "{bad}");
        }
        assert!(matches!(ServiceName::parse("для знижок на palazzo.com.ua"), Err(NameError::LinkOrEmail(_))));
        for good in ["ЦНАП м. Київ", "Ліцей ім.Шевченка", "Відділення №1.2", "ТОВ «Ґражда» (м.Львів)", "Готель «Мар'яна»"]
        {
            assert!(BranchName::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_service_has_a_bounded_number_of_names() {
        let eleven = (1..=11).map(|i| format!("для мети {i}")).collect::<Vec<_>>().join(", ");
        assert_eq!(ServiceName::parse_list(&eleven), Err(NameError::TooManyServiceNames(ServiceName::MAX_NAMES)));
        let ten = (1..=10).map(|i| format!("для мети {i}")).collect::<Vec<_>>().join(", ");
        assert_eq!(ServiceName::parse_list(&ten).unwrap().len(), 10);
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
