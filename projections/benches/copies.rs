//! Copies per second on one core: the seal's signature alone (the anchor), rendering alone, and
//! a signed copy (render + sign), in one run.
//!
//! `cargo bench -p diia-qr-projections --bench copies`; see docs/benchmarks.md.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use diia_qr_domain::documents::HeldDocument;
use diia_qr_projections::documents::copies::{render_copy, CopyContext};
use diia_qr_projections::pki::DevPki;
use diia_qr_projections::seal::Signer;
use uuid::Uuid;

/// One document of each type, as the development registry seeds them.
fn documents() -> Vec<HeldDocument> {
    diia_qr_domain::demo::one_document_of_each_type()
}

fn copies(c: &mut Criterion) {
    let documents = documents();
    let purposes = ["для поселення у готель".to_owned()];
    // Now, to the second: the development seal made below is valid from a day back only.
    let made_at: DateTime<Utc> = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("a time");
    let url = "https://diia-qr.example.gov.ua/verify/8b0d7c8e-3f4a-5b61-9c2d-0e1f2a3b4c5d";
    let ctx = CopyContext {
        share_request_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        copy_seed: Uuid::from_u128(0x5eed),
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
