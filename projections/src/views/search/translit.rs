//! Ukrainian names as the search index keeps them, and as a partner types them: the official
//! Latin transliteration (Cabinet of Ministers resolution No. 55 of 27 January 2010) and the
//! folding that makes case, apostrophe variants and ґ/г not matter. Pure: no IO.
//!
//! The resolution's rules beyond one letter for one letter: Є Ї Й Ю Я are written Ye Yi Y Yu Ya
//! at the start of a word and ie i i iu ia elsewhere (after an apostrophe is not the start);
//! "зг" is "zgh", so it is not read as "ж"; the soft sign and the apostrophe are not written.

/// The apostrophes people type in Ukrainian names: ASCII ', the typographic ’ and ‘, the
/// modifier letter ʼ (the orthographically proper one), and the grave and prime look-alikes.
const APOSTROPHES: [char; 7] = ['\'', '’', '‘', 'ʼ', '`', 'ʹ', '′'];

pub fn is_apostrophe(c: char) -> bool {
    APOSTROPHES.contains(&c)
}

/// `text` in the Latin alphabet by resolution No. 55, keeping the case of each letter (a letter
/// written as several keeps the case of its neighbours: "Щ" is "Shch" in "Щербухи", "SHCH" in
/// "ЩЕРБУХИ"). Anything that is not a Ukrainian letter is kept as it is, except apostrophes,
/// which are dropped.
pub fn transliterate(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for (i, &c) in chars.iter().enumerate() {
        if is_apostrophe(c) {
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        // An apostrophe is inside the word: "Короп'є" → "Koropie", not "KoropYe".
        let word_start = prev.is_none_or(|p| !p.is_alphabetic() && !is_apostrophe(p));
        let lower = c.to_lowercase().next().unwrap_or(c);
        let latin = match lower {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' if prev.is_some_and(|p| matches!(p, 'з' | 'З')) => "gh",
            'г' => "h",
            'ґ' => "g",
            'д' => "d",
            'е' => "e",
            'є' if word_start => "ye",
            'є' => "ie",
            'ж' => "zh",
            'з' => "z",
            'и' => "y",
            'і' => "i",
            'ї' if word_start => "yi",
            'ї' => "i",
            'й' if word_start => "y",
            'й' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ь' => "",
            'ю' if word_start => "yu",
            'ю' => "iu",
            'я' if word_start => "ya",
            'я' => "ia",
            _ => {
                out.push(c);
                continue;
            }
        };
        if !c.is_uppercase() {
            out.push_str(latin);
        } else if in_capitals(prev, next) {
            out.push_str(&latin.to_uppercase());
        } else {
            let mut letters = latin.chars();
            if let Some(first) = letters.next() {
                out.extend(first.to_uppercase());
                out.extend(letters);
            }
        }
    }
    out
}

/// Whether a capital letter stands in a word written in capitals (its neighbour is a capital
/// too), so that all the Latin letters it becomes are capitals.
fn in_capitals(prev: Option<char>, next: Option<char>) -> bool {
    match next {
        Some(n) if n.is_alphabetic() => n.is_uppercase(),
        _ => prev.is_some_and(|p| p.is_alphabetic() && p.is_uppercase()),
    }
}

/// The words of `text`: runs of letters, digits and apostrophes (an apostrophe is part of the
/// word it stands in). Hyphens, spaces, slashes and punctuation separate words.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric() && !is_apostrophe(c)).filter(|w| w.chars().any(char::is_alphanumeric))
}

/// One word as the index compares it: lower-case, without apostrophes, with ґ read as г (many
/// keyboards and older documents have no ґ).
pub fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| !is_apostrophe(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ґ' { 'г' } else { c })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// One word of a name in both forms the index holds: folded Cyrillic as written, and its folded
/// transliteration. For a word already in Latin letters the two are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordForms {
    pub written: String,
    pub latin: String,
}

impl WordForms {
    pub fn of(word: &str) -> Self {
        // Transliterate before folding: the position rules need the apostrophes.
        Self { written: fold(word), latin: fold(&transliterate(word)) }
    }
}

/// The words of `text` in both forms, each distinct pair once, in order.
pub fn word_forms(text: &str) -> Vec<WordForms> {
    let mut forms: Vec<WordForms> = Vec::new();
    for word in words(text).map(WordForms::of) {
        if !forms.contains(&word) {
            forms.push(word);
        }
    }
    forms
}

/// The indexed search text of a name (or several names): its folded words, then their Latin
/// forms that differ, each once. "Мар'яна Їжакевич" → "маряна їжакевич mariana yizhakevych".
pub fn search_text<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let forms: Vec<WordForms> = names.into_iter().flat_map(word_forms).collect();
    let mut out: Vec<&str> = Vec::new();
    for word in forms.iter().map(|f| f.written.as_str()).chain(forms.iter().map(|f| f.latin.as_str())) {
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
        }
    }
    out.join(" ")
}

/// A document number as compared: letters and digits only, capitals, and the Cyrillic letters
/// that look like Latin ones read as those (a series typed "СХЕ" in Cyrillic finds "CXE" in
/// Latin, and the other way round): "I-ТР 482913" → "ITP482913".
pub fn document_number_key(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'А' => 'A',
            'В' => 'B',
            'Е' => 'E',
            'І' => 'I',
            'К' => 'K',
            'М' => 'M',
            'Н' => 'H',
            'О' => 'O',
            'Р' => 'P',
            'С' => 'C',
            'Т' => 'T',
            'У' => 'Y',
            'Х' => 'X',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples printed in the resolution's table, letter by letter.
    #[test]
    fn the_resolutions_own_examples() {
        let examples = [
            ("Алушта", "Alushta"),
            ("Андрій", "Andrii"),
            ("Борщагівка", "Borshchahivka"),
            ("Борисенко", "Borysenko"),
            ("Вінниця", "Vinnytsia"),
            ("Володимир", "Volodymyr"),
            ("Гадяч", "Hadiach"),
            ("Богдан", "Bohdan"),
            ("Згурський", "Zghurskyi"),
            ("Ґалаґан", "Galagan"),
            ("Ґорґани", "Gorgany"),
            ("Донецьк", "Donetsk"),
            ("Дмитро", "Dmytro"),
            ("Рівне", "Rivne"),
            ("Олег", "Oleh"),
            ("Есмань", "Esman"),
            ("Єнакієве", "Yenakiieve"),
            ("Гаєвич", "Haievych"),
            ("Короп'є", "Koropie"),
            ("Житомир", "Zhytomyr"),
            ("Жанна", "Zhanna"),
            ("Жежелів", "Zhezheliv"),
            ("Закарпаття", "Zakarpattia"),
            ("Казимирчук", "Kazymyrchuk"),
            ("Медвин", "Medvyn"),
            ("Михайленко", "Mykhailenko"),
            ("Іванків", "Ivankiv"),
            ("Іващенко", "Ivashchenko"),
            ("Їжакевич", "Yizhakevych"),
            ("Кадиївка", "Kadyivka"),
            ("Мар'їне", "Marine"),
            ("Йосипівка", "Yosypivka"),
            ("Стрий", "Stryi"),
            ("Олексій", "Oleksii"),
            ("Київ", "Kyiv"),
            ("Коваленко", "Kovalenko"),
            ("Лебедин", "Lebedyn"),
            ("Леонід", "Leonid"),
            ("Миколаїв", "Mykolaiv"),
            ("Маринич", "Marynych"),
            ("Ніжин", "Nizhyn"),
            ("Наталія", "Nataliia"),
            ("Одеса", "Odesa"),
            ("Онищенко", "Onyshchenko"),
            ("Полтава", "Poltava"),
            ("Петро", "Petro"),
            ("Решетилівка", "Reshetylivka"),
            ("Рибчинський", "Rybchynskyi"),
            ("Суми", "Sumy"),
            ("Соломія", "Solomiia"),
            ("Тернопіль", "Ternopil"),
            ("Троць", "Trots"),
            ("Ужгород", "Uzhhorod"),
            ("Уляна", "Uliana"),
            ("Фастів", "Fastiv"),
            ("Філіпчук", "Filipchuk"),
            ("Харків", "Kharkiv"),
            ("Христина", "Khrystyna"),
            ("Біла Церква", "Bila Tserkva"),
            ("Стеценко", "Stetsenko"),
            ("Чернівці", "Chernivtsi"),
            ("Шевченко", "Shevchenko"),
            ("Шостка", "Shostka"),
            ("Кишеньки", "Kyshenky"),
            ("Щербухи", "Shcherbukhy"),
            ("Гоща", "Hoshcha"),
            ("Гаращенко", "Harashchenko"),
            ("Юрій", "Yurii"),
            ("Корюківка", "Koriukivka"),
            ("Яготин", "Yahotyn"),
            ("Ярошенко", "Yaroshenko"),
            ("Костянтин", "Kostiantyn"),
            ("Знам'янка", "Znamianka"),
            ("Феодосія", "Feodosiia"),
            ("Згорани", "Zghorany"),
            ("Розгон", "Rozghon"),
            ("Ізмаїл", "Izmail"),
            ("Мар'яна", "Mariana"),
            ("Ґонта", "Gonta"),
        ];
        for (cyrillic, latin) in examples {
            assert_eq!(transliterate(cyrillic), latin, "{cyrillic}");
        }
    }

    #[test]
    fn every_apostrophe_is_dropped_and_none_starts_a_word() {
        for name in ["Мар'яна", "Мар’яна", "Марʼяна", "Мар‘яна", "Мар`яна"] {
            assert_eq!(transliterate(name), "Mariana", "{name}");
        }
        assert_eq!(transliterate("Олійник-Д'Арко"), "Oliinyk-DArko");
        assert_eq!(transliterate("В'ячеслав"), "Viacheslav");
    }

    #[test]
    fn a_word_starts_after_a_space_or_hyphen_and_capitals_stay_capitals() {
        assert_eq!(transliterate("Мар'яна Ігорівна Їжакевич"), "Mariana Ihorivna Yizhakevych");
        assert_eq!(transliterate("Ярошенко-Юрченко"), "Yaroshenko-Yurchenko");
        assert_eq!(transliterate("ЩЕРБУХИ"), "SHCHERBUKHY");
        assert_eq!(transliterate("ЗГОРАНИ"), "ZGHORANY");
        assert_eq!(transliterate("ЇЖАКЕВИЧ / IZHAKEVYCH"), "YIZHAKEVYCH / IZHAKEVYCH");
        assert_eq!(transliterate("Я"), "Ya");
        assert_eq!(transliterate("ЖЖ"), "ZHZH");
    }

    #[test]
    fn folding_ignores_case_apostrophes_and_g_with_upturn() {
        assert_eq!(fold("МАР’ЯНА"), "маряна");
        assert_eq!(fold("Марʼяна"), fold("мар'яна"));
        assert_eq!(fold("Ґонта"), "гонта");
        assert_eq!(fold("Гонта"), "гонта");
    }

    #[test]
    fn the_search_text_holds_the_written_and_the_latin_forms_once() {
        assert_eq!(search_text(["Їжакевич", "Мар'яна", "Ігорівна"]), "їжакевич маряна ігорівна yizhakevych mariana ihorivna");
        assert_eq!(search_text(["Їжакевич / IZHAKEVYCH"]), "їжакевич izhakevych yizhakevych");
        assert_eq!(search_text(["Олійник-Д'Арко Ігор"]), "олійник дарко ігор oliinyk darko ihor");
        assert_eq!(search_text(["' - /"]), "");
    }

    #[test]
    fn words_of_a_query_in_both_forms() {
        let forms = word_forms("  Мар’яна,  ЇЖАКЕВИЧ mariana ");
        assert_eq!(
            forms,
            [
                WordForms { written: "маряна".into(), latin: "mariana".into() },
                WordForms { written: "їжакевич".into(), latin: "yizhakevych".into() },
                WordForms { written: "mariana".into(), latin: "mariana".into() },
            ]
        );
        assert!(word_forms("'’ -").is_empty());
    }

    #[test]
    fn document_numbers_compare_without_spaces_case_or_cyrillic_look_alikes() {
        assert_eq!(document_number_key("I-ТР 482913"), "ITP482913");
        assert_eq!(document_number_key("і-тр482913"), "ITP482913");
        assert_eq!(document_number_key("СХЕ 913482"), document_number_key("cxe913482"));
        assert_eq!(document_number_key("6301-5000123456"), "63015000123456");
        assert_eq!(document_number_key(" - "), "");
    }
}
