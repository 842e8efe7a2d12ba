//! The fictional citizens of the development registry: together they hold every document type,
//! with realistic fields — names with apostrophes and Ґ, Є, І, Ї, valid РНОКПП, document numbers
//! in their real formats, a parent with two children, a driver with two vehicles, a citizen
//! without a driving licence. Pure data: the registry that serves it lives at the edge.

use crate::documents::{DocumentField as F, DocumentType as T, FieldKind as K, HeldDocument};
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

fn doc(document_type: T, document_id: &str, label: &str, fields: &[(K, &str, &str)]) -> HeldDocument {
    HeldDocument {
        document_type,
        document_id: document_id.to_string(),
        label: label.to_string(),
        fields: fields.iter().map(|(k, l, v)| F::of_kind(*k, l, v)).collect(),
    }
}

fn rnokpp(first_nine: &str) -> Rnokpp {
    Rnokpp::with_check_digit(first_nine).expect("seed РНОКПП prefixes are nine digits")
}

/// `count` more citizens for load runs (`serve --dev-population`), the same on every call: the
/// i-th has РНОКПП with prefix `31…` and the counter, the code `222222`, and an ID card in the
/// registry's format, its name taken from lists with apostrophes and Ґ, Є, І, Ї.
pub fn generated_citizens(count: usize) -> Vec<DemoCitizen> {
    const SURNAMES: [&str; 8] = ["Ґудзь", "Єрошенко", "Ігнатів", "Їжак", "Дем'яненко", "Кир'яков", "Павлів", "Сиротюк"];
    const GIVEN: [&str; 8] = ["Ярослава", "Олексій", "Ірина", "Мар'ян", "Єлизавета", "Ґеоргій", "Софія", "Назар"];
    (0..count.min(1_000_000))
        .map(|i| {
            let (surname, given) = (SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len()) % GIVEN.len()]);
            let number = format!("{:09}", 200_000_000 + i);
            DemoCitizen {
                rnokpp: rnokpp(&format!("31{:07}", i)),
                full_name: format!("{given} {surname}"),
                signature_code: "222222".into(),
                documents: vec![doc(
                    T::InternalPassport,
                    &number,
                    &format!("ID-картка {number}"),
                    &[
                        (K::Name, "Прізвище", surname),
                        (K::Name, "Ім'я", given),
                        (K::BirthDate, "Дата народження", "01.02.1985"),
                        (K::DocumentNumber, "Номер документа", &number),
                        (K::Date, "Дійсний до", "01.02.2031"),
                    ],
                )],
            }
        })
        .collect()
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
                        (K::Name, "Прізвище", "Їжакевич"),
                        (K::Name, "Ім'я", "Мар'яна"),
                        (K::Name, "По батькові", "Ігорівна"),
                        (K::BirthDate, "Дата народження", "15.03.1990"),
                        (K::Sex, "Стать", "Ж"),
                        (K::Other, "Громадянство", "Україна"),
                        (K::DocumentNumber, "Номер документа", "004512377"),
                        (K::Other, "Запис № (УНЗР)", "19900315-01236"),
                        (K::Date, "Дата видачі", "02.09.2019"),
                        (K::Date, "Дійсний до", "02.09.2029"),
                        (K::Other, "Орган, що видав", "6101"),
                        (K::TaxpayerNumber, "РНОКПП", maryana.as_str()),
                    ],
                ),
                doc(
                    T::ForeignPassport,
                    "FX381204",
                    "Закордонний паспорт FX381204",
                    &[
                        (K::Name, "Прізвище", "Їжакевич / IZHAKEVYCH"),
                        (K::Name, "Ім'я", "Мар'яна / MARIANA"),
                        (K::BirthDate, "Дата народження", "15.03.1990"),
                        (K::DocumentNumber, "Номер паспорта", "FX381204"),
                        (K::Date, "Дата видачі", "11.05.2021"),
                        (K::Date, "Дійсний до", "11.05.2031"),
                        (K::Other, "Орган, що видав", "8031"),
                        (K::Other, "Запис № (УНЗР)", "19900315-01236"),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    maryana.as_str(),
                    "РНОКПП",
                    &[
                        (K::Name, "Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                        (K::BirthDate, "Дата народження", "15.03.1990"),
                        (K::TaxpayerNumber, "Реєстраційний номер облікової картки платника податків", maryana.as_str()),
                    ],
                ),
                doc(
                    T::ReferenceInternallyDisplacedPerson,
                    "6301-5000123456",
                    "Довідка ВПО 6301-5000123456",
                    &[
                        (K::Name, "Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                        (K::BirthDate, "Дата народження", "15.03.1990"),
                        (K::DocumentNumber, "Номер довідки", "6301-5000123456"),
                        (K::Date, "Дата видачі", "14.04.2022"),
                        (K::RegisteredAddress, "Зареєстроване місце проживання", "м. Харків, вул. Сумська, 25, кв. 7"),
                        (K::ActualAddress, "Фактичне місце проживання", "м. Тернопіль, вул. Руська, 40, кв. 3"),
                        (K::Other, "Орган, що видав", "Управління соціального захисту населення Тернопільської міської ради"),
                    ],
                ),
                doc(
                    T::StudentIdCard,
                    "ТЕ 12345678",
                    "Студентський квиток ТЕ 12345678",
                    &[
                        (K::Name, "Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                        (K::DocumentNumber, "Номер", "ТЕ 12345678"),
                        (K::Other, "Заклад освіти", "Тернопільський національний технічний університет імені Івана Пулюя"),
                        (K::Other, "Форма навчання", "денна"),
                        (K::Date, "Дата видачі", "01.09.2024"),
                        (K::Date, "Дійсний до", "30.06.2028"),
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
                        (K::Name, "Прізвище", "Ґонта"),
                        (K::Name, "Ім'я", "Євген"),
                        (K::Name, "По батькові", "Олексійович"),
                        (K::BirthDate, "Дата народження", "12.07.1984"),
                        (K::Sex, "Стать", "Ч"),
                        (K::Other, "Громадянство", "Україна"),
                        (K::DocumentNumber, "Номер документа", "001938471"),
                        (K::Other, "Запис № (УНЗР)", "19840712-00451"),
                        (K::Date, "Дата видачі", "17.03.2018"),
                        (K::Date, "Дійсний до", "17.03.2028"),
                        (K::Other, "Орган, що видав", "1218"),
                        (K::TaxpayerNumber, "РНОКПП", yevhen.as_str()),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    yevhen.as_str(),
                    "РНОКПП",
                    &[
                        (K::Name, "Прізвище, ім'я, по батькові", "Ґонта Євген Олексійович"),
                        (K::BirthDate, "Дата народження", "12.07.1984"),
                        (K::TaxpayerNumber, "Реєстраційний номер облікової картки платника податків", yevhen.as_str()),
                    ],
                ),
                doc(
                    T::BirthCertificate,
                    "I-ТР 482913",
                    "Ярослава Ґонта, 2015",
                    &[
                        (K::Child, "Дитина", "Ґонта Ярослава Євгенівна"),
                        (K::BirthDate, "Дата народження", "03.02.2015"),
                        (K::BirthPlace, "Місце народження", "м. Дніпро"),
                        (K::Parent, "Батько", "Ґонта Євген Олексійович"),
                        (K::Parent, "Мати", "Ґонта Іванна Петрівна"),
                        (K::DocumentNumber, "Серія і номер", "I-ТР 482913"),
                        (K::Other, "Актовий запис №", "417"),
                        (K::Date, "Дата видачі", "10.02.2015"),
                    ],
                ),
                doc(
                    T::BirthCertificate,
                    "I-ТР 519064",
                    "Ілля Ґонта, 2019",
                    &[
                        (K::Child, "Дитина", "Ґонта Ілля Євгенович"),
                        (K::BirthDate, "Дата народження", "21.11.2019"),
                        (K::BirthPlace, "Місце народження", "м. Дніпро"),
                        (K::Parent, "Батько", "Ґонта Євген Олексійович"),
                        (K::Parent, "Мати", "Ґонта Іванна Петрівна"),
                        (K::DocumentNumber, "Серія і номер", "I-ТР 519064"),
                        (K::Other, "Актовий запис №", "2215"),
                        (K::Date, "Дата видачі", "28.11.2019"),
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
                        (K::Name, "Прізвище", "Олійник-Д'Арко"),
                        (K::Name, "Ім'я", "Ігор"),
                        (K::Name, "По батькові", "Степанович"),
                        (K::BirthDate, "Дата народження", "05.10.1985"),
                        (K::Sex, "Стать", "Ч"),
                        (K::Other, "Громадянство", "Україна"),
                        (K::DocumentNumber, "Номер документа", "002846193"),
                        (K::Other, "Запис № (УНЗР)", "19851005-00873"),
                        (K::Date, "Дата видачі", "22.06.2020"),
                        (K::Date, "Дійсний до", "22.06.2030"),
                        (K::Other, "Орган, що видав", "4610"),
                        (K::TaxpayerNumber, "РНОКПП", ihor.as_str()),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    ihor.as_str(),
                    "РНОКПП",
                    &[
                        (K::Name, "Прізвище, ім'я, по батькові", "Олійник-Д'Арко Ігор Степанович"),
                        (K::BirthDate, "Дата народження", "05.10.1985"),
                        (K::TaxpayerNumber, "Реєстраційний номер облікової картки платника податків", ihor.as_str()),
                    ],
                ),
                doc(
                    T::DriverLicense,
                    "ВХЕ 482916",
                    "Посвідчення водія ВХЕ 482916",
                    &[
                        (K::Name, "Прізвище, ім'я", "Олійник-Д'Арко Ігор"),
                        (K::BirthDate, "Дата народження", "05.10.1985"),
                        (K::DocumentNumber, "Номер", "ВХЕ 482916"),
                        (K::Categories, "Категорії", "B, C1"),
                        (K::Date, "Дата видачі", "14.08.2017"),
                        (K::Date, "Дійсне до", "14.08.2047"),
                        (K::Other, "Орган, що видав", "ТСЦ 4641"),
                    ],
                ),
                doc(
                    T::VehicleLicense,
                    "СХЕ 913482",
                    "ВС 4821 ЕК · Škoda Octavia",
                    &[
                        (K::Plate, "Номерний знак", "ВС 4821 ЕК"),
                        (K::VehicleMake, "Марка, модель", "Škoda Octavia"),
                        (K::Other, "Рік випуску", "2018"),
                        (K::Other, "Колір", "сірий"),
                        (K::Other, "VIN", "TMBJG7NE5J0123456"),
                        (K::Name, "Власник", "Олійник-Д'Арко Ігор Степанович"),
                        (K::DocumentNumber, "Свідоцтво", "СХЕ 913482"),
                        (K::Date, "Дата реєстрації", "03.04.2019"),
                    ],
                ),
                doc(
                    T::VehicleLicense,
                    "СХК 204617",
                    "ВС 0917 ІМ · Renault Kangoo",
                    &[
                        (K::Plate, "Номерний знак", "ВС 0917 ІМ"),
                        (K::VehicleMake, "Марка, модель", "Renault Kangoo"),
                        (K::Other, "Рік випуску", "2014"),
                        (K::Other, "Колір", "білий"),
                        (K::Other, "VIN", "VF1KW0BB551234567"),
                        (K::Name, "Власник", "Олійник-Д'Арко Ігор Степанович"),
                        (K::DocumentNumber, "Свідоцтво", "СХК 204617"),
                        (K::Date, "Дата реєстрації", "19.09.2021"),
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
                        (K::Name, "Прізвище", "Єрмоленко"),
                        (K::Name, "Ім'я", "Ольга"),
                        (K::Name, "По батькові", "Віталіївна"),
                        (K::BirthDate, "Дата народження", "06.01.1998"),
                        (K::Sex, "Стать", "Ж"),
                        (K::Other, "Громадянство", "Україна"),
                        (K::DocumentNumber, "Номер документа", "005129384"),
                        (K::Other, "Запис № (УНЗР)", "19980106-02548"),
                        (K::Date, "Дата видачі", "15.01.2022"),
                        (K::Date, "Дійсний до", "15.01.2032"),
                        (K::Other, "Орган, що видав", "8034"),
                        (K::TaxpayerNumber, "РНОКПП", olha.as_str()),
                    ],
                ),
                doc(
                    T::TaxpayerCard,
                    olha.as_str(),
                    "РНОКПП",
                    &[
                        (K::Name, "Прізвище, ім'я, по батькові", "Єрмоленко Ольга Віталіївна"),
                        (K::BirthDate, "Дата народження", "06.01.1998"),
                        (K::TaxpayerNumber, "Реєстраційний номер облікової картки платника податків", olha.as_str()),
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
    fn every_seeded_document_has_the_fields_its_card_draws() {
        use crate::documents::CardKind;
        for d in demo_citizens().into_iter().flat_map(|c| c.documents) {
            let needs: &[K] = match d.document_type.descriptor().card {
                CardKind::Plain => &[],
                CardKind::Headline(kind) => &[kind],
                CardKind::NumberPlate => &[K::Plate, K::VehicleMake],
                CardKind::ChildAndParents => &[K::Child, K::BirthDate, K::Parent],
                CardKind::TwoAddresses => &[K::RegisteredAddress, K::ActualAddress],
            };
            for kind in needs {
                assert!(d.fields.iter().any(|f| f.kind == *kind), "{} {}: no {kind:?} field", d.document_type, d.document_id);
            }
        }
    }

    #[test]
    fn rnokpp_birth_dates_match_the_documents() {
        for c in demo_citizens() {
            let passport = c.documents.iter().find(|d| d.document_type == T::InternalPassport).unwrap();
            let born = passport.fields.iter().find(|f| f.kind == K::BirthDate).unwrap();
            assert_eq!(c.rnokpp.birth_date().unwrap().format("%d.%m.%Y").to_string(), born.value, "{}", c.full_name);
        }
    }
}
