//! Copies per second on one core: the seal's signature alone (the anchor), rendering alone, and
//! a signed copy (render + sign), in one run.
//!
//! `cargo bench -p diia-qr-projections --bench copies`; see docs/benchmarks.md.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use diia_qr_domain::documents::{DocumentField, DocumentType, HeldDocument};
use diia_qr_projections::copies::{render_copy, CopyContext};
use diia_qr_projections::seal::{DevPki, Seal};
use uuid::Uuid;

fn doc(document_type: DocumentType, document_id: &str, label: &str, fields: &[(&str, &str)]) -> HeldDocument {
    HeldDocument {
        document_type,
        document_id: document_id.to_owned(),
        label: label.to_owned(),
        fields: fields.iter().map(|(l, v)| DocumentField::new(l, v)).collect(),
    }
}

/// One document of each type, as the development registry seeds them.
fn documents() -> Vec<HeldDocument> {
    use DocumentType as T;
    vec![
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
                ("РНОКПП", "3294600241"),
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
            "3294600241",
            "РНОКПП",
            &[
                ("Прізвище, ім'я, по батькові", "Їжакевич Мар'яна Ігорівна"),
                ("Дата народження", "15.03.1990"),
                ("Реєстраційний номер облікової картки платника податків", "3294600241"),
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
    ]
}

fn copies(c: &mut Criterion) {
    let documents = documents();
    let purposes = ["для поселення у готель".to_owned()];
    let made_at: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-26T10:00:05Z").expect("a time").with_timezone(&Utc);
    let url = "https://diia-qr.example.gov.ua/verify/8b0d7c8e-3f4a-5b61-9c2d-0e1f2a3b4c5d";
    let ctx = CopyContext {
        share_request_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        organisation_name: "ТОВ «Готель “Палаццо”»",
        branch_name: "Готель «Палаццо» — рецепція",
        branch_address: "м. Тернопіль, вул. Руська, 10",
        purposes: &purposes,
        retention_days: 30,
        made_at,
        verification_url: url,
    };

    let pki_dir = std::env::temp_dir().join(format!("diia-qr-bench-pki-{}", std::process::id()));
    let (_pki, seal) = DevPki::load_or_create(&pki_dir).expect("development PKI");
    // The seal is called through this closure only: a change to `Seal::sign_detached` is a
    // one-line change here.
    let sign = |pdf: &[u8]| seal.sign_detached(pdf, made_at).expect("signature");

    // Every document type in turn: an average copy.
    let rendered: Vec<Vec<u8>> = documents.iter().map(|d| render_copy(d, &ctx).expect("copy")).collect();
    let mut group = c.benchmark_group("copies");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("sign (P-256 CAdES, detached)", |b| {
        b.iter(|| {
            i = (i + 1) % rendered.len();
            sign(black_box(&rendered[i]))
        })
    });
    let mut i = 0;
    group.bench_function("render", |b| {
        b.iter(|| {
            i = (i + 1) % documents.len();
            render_copy(black_box(&documents[i]), black_box(&ctx)).expect("copy")
        })
    });
    let mut i = 0;
    group.bench_function("render + sign (a signed copy)", |b| {
        b.iter(|| {
            i = (i + 1) % documents.len();
            let pdf = render_copy(black_box(&documents[i]), black_box(&ctx)).expect("copy");
            let p7s = sign(&pdf);
            (pdf, p7s)
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&pki_dir);
}

criterion_group!(benches, copies);
criterion_main!(benches);
