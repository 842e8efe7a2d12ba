//! The fictional citizens of the development registry: together they hold every document type,
//! with realistic fields — names with apostrophes and Ґ, Є, І, Ї, valid РНОКПП, document numbers
//! in their real formats, a parent with two children, a driver with two vehicles, a citizen
//! without a driving licence. Pure data: the registry that serves it lives at the edge.

use crate::documents::{DocumentField as F, DocumentType as T, HeldDocument};
use crate::identifiers::Rnokpp;

/// A fictional citizen of the demo registry.
#[derive(Debug, Clone)]
pub struct DemoCitizen {
    pub rnokpp: Rnokpp,
    pub full_name: String,
    /// The six-digit Diia.Signature code this citizen types.
    pub signature_code: String,
    pub documents: Vec<HeldDocument>,
}

fn doc(document_type: T, document_id: &str, label: &str, fields: &[(&str, &str)]) -> HeldDocument {
    HeldDocument {
        document_type,
        document_id: document_id.to_string(),
        label: label.to_string(),
        fields: fields.iter().map(|(l, v)| F::new(l, v)).collect(),
    }
}

fn rnokpp(first_nine: &str) -> Rnokpp {
    Rnokpp::with_check_digit(first_nine).expect("seed РНОКПП prefixes are nine digits")
}

/// The seeded citizens: names with apostrophes and Ґ, Є, І, Ї; a parent with two children; a
/// driver with two vehicles; a citizen without a driving licence.
pub fn demo_citizens() -> Vec<DemoCitizen> {
    // First five digits: days since 1899-12-31 (32946 → 1990-03-15), ninth odd for men.
    let maryana = rnokpp("329460024");
    let yevhen = rnokpp("308740153");
    let ihor = rnokpp("313240071");
    let olha = rnokpp("358000042");
    vec![
        DemoCitizen {
            rnokpp: maryana.clone(),
            full_name: "Мар'яна Ігорівна Їжакевич".into(),
            signature_code: "111111".into(),
            documents: vec![
                doc(
                    T::InternalPassport,
                    "004512377",
                    "ID-картка 004512377",
                    &[
                        ("Прізвище", "Їжакевич"),
                        ("Ім'я", "Мар'яна"),
                        ("По батькові", "Ігорівна"),
                        ("Дата народження", "15.03.1990"),
                        ("Стать", "Ж"),
                        ("Громадянство", "Україна"),
                        ("Номер документа", "004512377"),
                        ("Запис № (УНЗР)", "19900315-01236"),
                        ("Дата видачі", "02.09.2019"),
                        ("Дійсний до", "02.09.2029"),
                        ("Орган, що видав", "6101"),
                        ("РНОКПП", maryana.as_str()),
                    ],
                ),
                doc(
                    T::ForeignPassport,
                    "FX381204",
                    "Закордонний паспорт FX381204",
                    &[
                        ("Прізвище", "Їжакевич / IZHAKEVYCH"),
                        ("Ім'я", "Мар'яна / MARIANA"),
                        ("Дата народження", "15.03.1990"),
                        ("Номер паспорта", "FX381204"),
                        ("Дата видачі", "11.05.2021"),
                        ("Дійсний до", "11.05.2031"),
                        ("Орган, що видав", "8031"),
                        ("Запис № (УНЗР)", "19900315-01236"),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    maryana.as_str(),
                    "РНОКПП",
                    &[
                        ("Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                        ("Дата народження", "15.03.1990"),
                        ("Реєстраційний номер облікової картки платника податків", maryana.as_str()),
                    ],
                ),
                doc(
                    T::ReferenceInternallyDisplacedPerson,
                    "6301-5000123456",
                    "Довідка ВПО 6301-5000123456",
                    &[
                        ("Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                        ("Дата народження", "15.03.1990"),
                        ("Номер довідки", "6301-5000123456"),
                        ("Дата видачі", "14.04.2022"),
                        ("Зареєстроване місце проживання", "м. Харків, вул. Сумська, 25, кв. 7"),
                        ("Фактичне місце проживання", "м. Тернопіль, вул. Руська, 40, кв. 3"),
                        ("Орган, що видав", "Управління соціального захисту населення Тернопільської міської ради"),
                    ],
                ),
                doc(
                    T::StudentIdCard,
                    "ТЕ 12345678",
                    "Студентський квиток ТЕ 12345678",
                    &[
                        ("Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                        ("Номер", "ТЕ 12345678"),
                        ("Заклад освіти", "Тернопільський національний технічний університет імені Івана Пулюя"),
                        ("Форма навчання", "денна"),
                        ("Дата видачі", "01.09.2024"),
                        ("Дійсний до", "30.06.2028"),
                    ],
                ),
            ],
        },
        DemoCitizen {
            rnokpp: yevhen.clone(),
            full_name: "Євген Олексійович Ґонта".into(),
            signature_code: "222222".into(),
            documents: vec![
                doc(
                    T::InternalPassport,
                    "001938471",
                    "ID-картка 001938471",
                    &[
                        ("Прізвище", "Ґонта"),
                        ("Ім'я", "Євген"),
                        ("По батькові", "Олексійович"),
                        ("Дата народження", "12.07.1984"),
                        ("Стать", "Ч"),
                        ("Громадянство", "Україна"),
                        ("Номер документа", "001938471"),
                        ("Запис № (УНЗР)", "19840712-00451"),
                        ("Дата видачі", "17.03.2018"),
                        ("Дійсний до", "17.03.2028"),
                        ("Орган, що видав", "1218"),
                        ("РНОКПП", yevhen.as_str()),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    yevhen.as_str(),
                    "РНОКПП",
                    &[
                        ("Прізвище, ім'я, по батькові", "Ґонта Євген Олексійович"),
                        ("Дата народження", "12.07.1984"),
                        ("Реєстраційний номер облікової картки платника податків", yevhen.as_str()),
                    ],
                ),
                doc(
                    T::BirthCertificate,
                    "I-ТР 482913",
                    "Ярослава Ґонта, 2015",
                    &[
                        ("Дитина", "Ґонта Ярослава Євгенівна"),
                        ("Дата народження", "03.02.2015"),
                        ("Місце народження", "м. Дніпро"),
                        ("Батько", "Ґонта Євген Олексійович"),
                        ("Мати", "Ґонта Іванна Петрівна"),
                        ("Серія і номер", "I-ТР 482913"),
                        ("Актовий запис №", "417"),
                        ("Дата видачі", "10.02.2015"),
                    ],
                ),
                doc(
                    T::BirthCertificate,
                    "I-ТР 519064",
                    "Ілля Ґонта, 2019",
                    &[
                        ("Дитина", "Ґонта Ілля Євгенович"),
                        ("Дата народження", "21.11.2019"),
                        ("Місце народження", "м. Дніпро"),
                        ("Батько", "Ґонта Євген Олексійович"),
                        ("Мати", "Ґонта Іванна Петрівна"),
                        ("Серія і номер", "I-ТР 519064"),
                        ("Актовий запис №", "2215"),
                        ("Дата видачі", "28.11.2019"),
                    ],
                ),
            ],
        },
        DemoCitizen {
            rnokpp: ihor.clone(),
            full_name: "Ігор Степанович Олійник-Д'Арко".into(),
            signature_code: "333333".into(),
            documents: vec![
                doc(
                    T::InternalPassport,
                    "002846193",
                    "ID-картка 002846193",
                    &[
                        ("Прізвище", "Олійник-Д'Арко"),
                        ("Ім'я", "Ігор"),
                        ("По батькові", "Степанович"),
                        ("Дата народження", "05.10.1985"),
                        ("Стать", "Ч"),
                        ("Громадянство", "Україна"),
                        ("Номер документа", "002846193"),
                        ("Запис № (УНЗР)", "19851005-00873"),
                        ("Дата видачі", "22.06.2020"),
                        ("Дійсний до", "22.06.2030"),
                        ("Орган, що видав", "4610"),
                        ("РНОКПП", ihor.as_str()),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    ihor.as_str(),
                    "РНОКПП",
                    &[
                        ("Прізвище, ім'я, по батькові", "Олійник-Д'Арко Ігор Степанович"),
                        ("Дата народження", "05.10.1985"),
                        ("Реєстраційний номер облікової картки платника податків", ihor.as_str()),
                    ],
                ),
                doc(
                    T::DriverLicense,
                    "ВХЕ 482916",
                    "Посвідчення водія ВХЕ 482916",
                    &[
                        ("Прізвище, ім'я", "Олійник-Д'Арко Ігор"),
                        ("Дата народження", "05.10.1985"),
                        ("Номер", "ВХЕ 482916"),
                        ("Категорії", "B, C1"),
                        ("Дата видачі", "14.08.2017"),
                        ("Дійсне до", "14.08.2047"),
                        ("Орган, що видав", "ТСЦ 4641"),
                    ],
                ),
                doc(
                    T::VehicleLicense,
                    "СХЕ 913482",
                    "ВС 4821 ЕК · Škoda Octavia",
                    &[
                        ("Номерний знак", "ВС 4821 ЕК"),
                        ("Марка, модель", "Škoda Octavia"),
                        ("Рік випуску", "2018"),
                        ("Колір", "сірий"),
                        ("VIN", "TMBJG7NE5J0123456"),
                        ("Власник", "Олійник-Д'Арко Ігор Степанович"),
                        ("Свідоцтво", "СХЕ 913482"),
                        ("Дата реєстрації", "03.04.2019"),
                    ],
                ),
                doc(
                    T::VehicleLicense,
                    "СХК 204617",
                    "ВС 0917 ІМ · Renault Kangoo",
                    &[
                        ("Номерний знак", "ВС 0917 ІМ"),
                        ("Марка, модель", "Renault Kangoo"),
                        ("Рік випуску", "2014"),
                        ("Колір", "білий"),
                        ("VIN", "VF1KW0BB551234567"),
                        ("Власник", "Олійник-Д'Арко Ігор Степанович"),
                        ("Свідоцтво", "СХК 204617"),
                        ("Дата реєстрації", "19.09.2021"),
                    ],
                ),
            ],
        },
        DemoCitizen {
            // Holds no driving licence: a request for one refuses the whole package.
            rnokpp: olha.clone(),
            full_name: "Ольга Віталіївна Єрмоленко".into(),
            signature_code: "444444".into(),
            documents: vec![
                doc(
                    T::InternalPassport,
                    "005129384",
                    "ID-картка 005129384",
                    &[
                        ("Прізвище", "Єрмоленко"),
                        ("Ім'я", "Ольга"),
                        ("По батькові", "Віталіївна"),
                        ("Дата народження", "06.01.1998"),
                        ("Стать", "Ж"),
                        ("Громадянство", "Україна"),
                        ("Номер документа", "005129384"),
                        ("Запис № (УНЗР)", "19980106-02548"),
                        ("Дата видачі", "15.01.2022"),
                        ("Дійсний до", "15.01.2032"),
                        ("Орган, що видав", "8034"),
                        ("РНОКПП", olha.as_str()),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    olha.as_str(),
                    "РНОКПП",
                    &[
                        ("Прізвище, ім'я, по батькові", "Єрмоленко Ольга Віталіївна"),
                        ("Дата народження", "06.01.1998"),
                        ("Реєстраційний номер облікової картки платника податків", olha.as_str()),
                    ],
                ),
            ],
        },
    ]
}

/// One document of every type, from the citizens above: sample copies for tests and benchmarks.
pub fn one_document_of_each_type() -> Vec<HeldDocument> {
    let all: Vec<HeldDocument> = demo_citizens().into_iter().flat_map(|c| c.documents).collect();
    T::ALL.iter().filter_map(|t| all.iter().find(|d| d.document_type == *t).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifiers::Rnokpp;

    #[test]
    fn the_seed_covers_every_document_type_and_the_awkward_cases() {
        let citizens = demo_citizens();
        for t in T::ALL {
            assert!(citizens.iter().any(|c| c.documents.iter().any(|d| d.document_type == t)), "{t} is held by nobody");
        }
        let count = |c: &DemoCitizen, t| c.documents.iter().filter(|d| d.document_type == t).count();
        assert!(citizens.iter().any(|c| count(c, T::BirthCertificate) == 2), "a parent with two children");
        assert!(citizens.iter().any(|c| count(c, T::VehicleLicense) == 2), "a driver with two vehicles");
        assert!(citizens.iter().any(|c| count(c, T::DriverLicense) == 0), "someone without a licence");
        let all_names: String = citizens.iter().map(|c| c.full_name.as_str()).collect();
        for letter in ['\'', 'Ґ', 'Є', 'І', 'Ї'] {
            assert!(all_names.contains(letter), "no name with {letter}");
        }
        for c in &citizens {
            Rnokpp::parse(c.rnokpp.as_str()).unwrap();
            let tax = c.documents.iter().find(|d| d.document_type == T::TaxpayerCard).unwrap();
            assert_eq!(tax.document_id, c.rnokpp.as_str());
        }
    }

    #[test]
    fn rnokpp_birth_dates_match_the_documents() {
        for c in demo_citizens() {
            let passport = c.documents.iter().find(|d| d.document_type == T::InternalPassport).unwrap();
            let born = passport.fields.iter().find(|f| f.label == "Дата народження").unwrap();
            assert_eq!(c.rnokpp.birth_date().unwrap().format("%d.%m.%Y").to_string(), born.value, "{}", c.full_name);
        }
    }
}
