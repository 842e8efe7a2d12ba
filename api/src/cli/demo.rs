//! `diia-qr demo --out DIR`: the whole flow, partner to mailbox, against a fresh embedded
//! instance. It prints each step and leaves in DIR the QR codes and posters, every delivered
//! e-mail (.eml), the accession application the head signed with the КЕП and each consent a
//! citizen signed with Diia.Signature (each beside its detached `.p7s`), the audit export, and
//! the CA certificates that verify them: the root (the copies' seal), partners' and citizens'.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::Utc;
use diia_qr::app::dev_services::{demo_citizens, DemoCitizen};
use diia_qr::app::offer::{offer_sha256, OFFER_VERSION};
use diia_qr::app::sessions::Claims;
use diia_qr::app::{Engine, NewService, PartnerIdentity};
use diia_qr::config::{Config, MailConfig};
use diia_qr::startup::Application;
use diia_qr_domain::branch::BranchAddress;
use diia_qr_domain::documents::DocumentType as T;
use diia_qr_domain::service::LegalBasis;
use diia_qr_domain::share_request::{DocumentChoice, ShareStatus};
use diia_qr_projections::pki::DevPki;
use diia_qr_projections::seal::{OpenSslSeal, Signer};
use uuid::Uuid;

fn step(text: &str) {
    println!("• {text}");
}

fn citizen<'a>(all: &'a [DemoCitizen], surname: &str) -> &'a DemoCitizen {
    all.iter().find(|c| c.full_name.contains(surname)).expect("seeded citizen")
}

/// Waits for a letter whose file name starts with `prefix`: mail is written by the delivery
/// worker after the command, not by it.
async fn wait_for_mail(dir: &Path, prefix: &str, timeout: Duration) -> anyhow::Result<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".eml")));
        if let Some(path) = found {
            return Ok(path);
        }
        if Instant::now() > deadline {
            bail!("лист {prefix}*.eml не з'явився за {} с", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn run(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("тека {}", out.display()))?;
    let out = out.canonicalize()?;
    let state = std::env::temp_dir().join(format!("diia-qr-demo-{}", Uuid::new_v4().simple()));
    let mut config = Config::with_data_dir(state.clone());
    config.port = 0;
    config.mail = MailConfig::Folder(out.clone());
    step(&format!("Запускаю Дія.QR із власним PostgreSQL у {}", state.display()));
    let app = Application::build(config).await?;
    let result = flow(&app, &out).await;
    app.shutdown().await;
    let _ = std::fs::remove_dir_all(&state);
    result
}

async fn flow(app: &Application, out: &Path) -> anyhow::Result<()> {
    let engine: &Engine = &app.engine;
    step(&format!("Сервер слухає на {}", app.base_url()));

    // The head signs in with the КЕП the development PKI issued to the test hotel.
    let pki = app.config.data_dir.join("pki");
    let (dev_pki, _) = DevPki::load_or_create(&pki)?;
    let (key, cert) = DevPki::test_partner(&pki, "hotel-palazzo")?;
    let head_kep = OpenSslSeal::new(key, cert, dev_pki.qualified_chain());
    let challenge = engine.kep_challenge().await?;
    let signature = head_kep.sign_detached(challenge.text.as_bytes(), Utc::now())?;
    let signed_in = engine.kep_sign_in(challenge.challenge_id, &BASE64_STANDARD.encode(signature)).await?;
    let Claims::Partner { identity: who, .. } = engine.session(&signed_in.token).await?.claims else {
        bail!("вхід КЕП дав не сесію партнера");
    };
    engine.register_partner(&who).await?;
    step(&format!("Партнер «{}» увійшов із КЕП керівника ({}) і зареєструвався", who.organisation_name, who.head.full_name));
    engine.fill_profile(&who, "director@palazzo.example", "+380 67 123 45 67", "123456789").await?;
    engine.accept_offer(&who, OFFER_VERSION, &offer_sha256()).await?;
    let application = engine.accession_application_pdf(&who).await?;
    let application_signature = head_kep.sign_detached(&application, Utc::now())?;
    engine.sign_accession_application(&who, &BASE64_STANDARD.encode(&application_signature)).await?;
    std::fs::write(out.join("accession-application.pdf"), &application)?;
    std::fs::write(out.join("accession-application.p7s"), &application_signature)?;
    step("Профіль заповнено, оферту прийнято, заяву про приєднання підписано КЕП (accession-application.pdf і .p7s) — тепер це партнер");

    let address = BranchAddress {
        region: "Тернопільська область".into(),
        district: None,
        locality: "м. Тернопіль".into(),
        street: "вул. Руська".into(),
        house: "12".into(),
    };
    let mailbox = "reception@palazzo.example";
    let branch_id = engine.create_branch(&who, "Готель «Палаццо»", address, mailbox).await?;
    step(&format!("Відділення «Готель «Палаццо»» створено; лист із кодом підтвердження надіслано на {mailbox}"));
    let letter = wait_for_mail(out, &format!("branch-{branch_id}"), Duration::from_secs(30)).await?;
    let code = confirmation_code(&std::fs::read_to_string(&letter)?).context("у листі підтвердження немає коду")?;
    engine.confirm_branch_email(branch_id, &code).await?;
    step(&format!("Пошту підтверджено кодом {code} із листа {}", letter.file_name().unwrap_or_default().to_string_lossy()));

    let basis = |s: &str| LegalBasis { acknowledged: true, statement: s.into() };
    let services = [
        (
            "для поселення у готель",
            vec![T::InternalPassport, T::TaxpayerCard],
            30,
            "ст. 11 Закону «Про захист персональних даних»: договір про надання готельних послуг",
        ),
        (
            "для оренди автомобіля, для надання послуг паркування",
            vec![T::DriverLicense, T::VehicleLicense],
            90,
            "договір оренди та Правила паркування",
        ),
        (
            "для поселення дітей разом із батьками",
            vec![T::InternalPassport, T::BirthCertificate],
            30,
            "договір про надання готельних послуг",
        ),
        (
            "для поселення у студентський гуртожиток",
            vec![T::StudentIdCard, T::ReferenceInternallyDisplacedPerson, T::ForeignPassport],
            365,
            "договір найму житла у гуртожитку",
        ),
    ];
    let mut links = Vec::new();
    for (i, (names, documents, retention, why)) in services.into_iter().enumerate() {
        let service = NewService {
            branch_id,
            names: names.to_string(),
            documents: documents.clone(),
            legal_basis: basis(why),
            retention_days: retention,
        };
        let service_id = engine.create_service(&who, service).await?;
        let qr = engine.issue_qr(&who, service_id).await?;
        let file = out.join(format!("qr-{}.svg", i + 1));
        std::fs::write(&file, engine.qr_svg(&who, service_id).await?.bytes)?;
        std::fs::write(out.join(format!("qr-{}.png", i + 1)), engine.qr_png(&who, service_id, 10).await?.bytes)?;
        std::fs::write(out.join(format!("poster-{}.pdf", i + 1)), engine.poster_pdf(&who, service_id).await?.bytes)?;
        std::fs::write(out.join(format!("poster-{}.svg", i + 1)), engine.poster_svg(&who, service_id).await?.bytes)?;
        step(&format!(
            "Послуга «{names}» ({} док.) — QR {} (також PNG і плакат PDF/SVG), код {}: {}",
            documents.len(),
            file.file_name().unwrap_or_default().to_string_lossy(),
            qr.short_code,
            qr.link
        ));
        links.push(qr.link);
    }

    let citizens = demo_citizens();
    let olha = citizen(&citizens, "Єрмоленко");
    match engine.scan(&olha.rnokpp, &links[1]).await {
        Err(e) => step(&format!("{} сканує QR оренди авто — відмова одразу, до фотоверифікації: {e}", olha.full_name)),
        Ok(_) => bail!("запит без потрібних документів мав бути відхилений"),
    }

    // (citizen's surname, which QR, the documents they choose)
    type Journey<'a> = (&'a str, usize, Vec<(T, &'a str)>);
    let journeys: [Journey; 4] = [
        ("Їжакевич", 0, vec![]),
        ("Олійник", 1, vec![(T::VehicleLicense, "СХК 204617")]),
        ("Ґонта", 2, vec![(T::BirthCertificate, "I-ТР 519064")]),
        ("Їжакевич", 3, vec![]),
    ];
    let mut sent = Vec::new();
    for (surname, link, choices) in journeys {
        let c = citizen(&citizens, surname);
        let (id, share) = engine.scan(&c.rnokpp, &links[link]).await?;
        let snap = share.snapshot().context("знімок запиту")?;
        step(&format!(
            "{} сканує QR: «{}», {}; мета: {}",
            c.full_name,
            snap.organisation_name,
            snap.branch_address,
            snap.service_names.join(", ")
        ));
        if !choices.is_empty() {
            let choices: Vec<DocumentChoice> =
                choices.into_iter().map(|(t, id)| DocumentChoice { document_type: t, document_id: id.into() }).collect();
            let labels: Vec<String> = share
                .candidates()
                .iter()
                .filter(|cand| choices.iter().any(|ch| ch.document_id == cand.document_id))
                .map(|cand| cand.label.clone())
                .collect();
            engine.choose_documents(&c.rnokpp, id, choices).await?;
            step(&format!("  обирає документ: {}", labels.join(", ")));
        }
        let assertion = engine.dev_liveness_check(&c.rnokpp, id, b"selfie").await?;
        engine.verify_photo(&c.rnokpp, id, &assertion).await?;
        engine.confirm(&c.rnokpp, id, &c.signature_code).await?;
        let consent = engine.share_request(&c.rnokpp, id).await?.consent().cloned().context("підписана згода")?;
        let stem = format!("consent-{}", sent.len() + 1);
        std::fs::write(out.join(format!("{stem}.json")), &consent.statement)?;
        std::fs::write(out.join(format!("{stem}.p7s")), BASE64_STANDARD.decode(&consent.signature_base64)?)?;
        engine.send(&c.rnokpp, id).await?;
        step(&format!("  фотоверифікацію пройдено, згоду підписано Дія.Підписом ({stem}.json і .p7s), копії надіслано"));
        sent.push((c.rnokpp.clone(), id));
    }

    for (rnokpp, id) in &sent {
        let eml = wait_for_mail(out, &format!("share-{id}"), Duration::from_secs(60)).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while engine.share_request(rnokpp, *id).await?.status() != ShareStatus::Delivered {
            if Instant::now() > deadline {
                bail!("запит {id} не позначено доставленим");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        step(&format!("Лист {} доставлено; громадянин бачить «Виконано»", eml.file_name().unwrap_or_default().to_string_lossy()));
    }

    let ca: PathBuf = out.join("diia-qr-dev-ca.pem");
    std::fs::write(&ca, &app.ca_pem)?;
    step(&format!("Сертифікат ЦС для перевірки підписів: {}", ca.display()));
    // Each issuing CA alone: with `-partial_chain` it is the anchor, so its file verifies the
    // signatures of one kind of signer only (the root would vouch for both).
    for (file, ca, whose) in [
        ("partners-ca.pem", DevPki::QUALIFIED_CA_FILE, "КЕП партнерів (заява про приєднання)"),
        ("citizens-ca.pem", DevPki::CITIZENS_CA_FILE, "Дія.Підпису громадян (згоди)"),
    ] {
        std::fs::copy(pki.join(ca), out.join(file))?;
        step(&format!("Сертифікати ЦС {whose}: {}", out.join(file).display()));
    }
    let seals: PathBuf = out.join("diia-qr-seal-certificates.pem");
    std::fs::write(&seals, engine.seal_certificates_pem())?;
    step(&format!("Сертифікати печатки сервісу (лише вони роблять копію справжньою): {}", seals.display()));
    let (audit, log_key) = export_audit(engine, &who, out).await?;
    search_once(engine, &who).await?;
    step(&format!("Журнал аудиту партнера вивантажено: {} (ключ журналу — у {})", audit.display(), log_key.display()));
    println!(
        "\nПеревірити копію: витягніть вкладення з .eml і виконайте\n  openssl cms -verify -binary -inform DER -in COPY.p7s -content COPY.pdf -CAfile {} -out /dev/null",
        ca.display()
    );
    println!("Або так:\n  diia-qr verify COPY.pdf COPY.p7s --ca {} --seal-certificates {}", ca.display(), seals.display());
    println!(
        "Перевірити згоду громадянина і заяву партнера:\n  openssl cms -verify -binary -inform DER -in {dir}/consent-1.p7s -content {dir}/consent-1.json -CAfile {dir}/citizens-ca.pem -partial_chain -purpose any -out /dev/null\n  openssl cms -verify -binary -inform DER -in {dir}/accession-application.p7s -content {dir}/accession-application.pdf -CAfile {dir}/partners-ca.pem -partial_chain -purpose any -out /dev/null",
        dir = out.display()
    );
    println!(
        "Перевірити журнал аудиту:\n  diia-qr audit verify {} --ca {} --log-key \"$(cat {})\"",
        audit.display(),
        ca.display(),
        log_key.display()
    );
    Ok(())
}

/// One search of what the partner received, as its cabinet would run it: a Latin spelling with a
/// typo still finds the Cyrillic name.
async fn search_once(engine: &Engine, who: &PartnerIdentity) -> anyhow::Result<()> {
    use diia_qr_projections::views::search::SearchQuery;
    let asked = "Yizhakevich";
    let page = engine.search_received(who, SearchQuery { name: Some(asked.into()), ..SearchQuery::default() }).await?;
    step(&format!("Пошук отриманих документів за «{asked}»: знайдено {}", page.documents.len()));
    for d in &page.documents {
        println!(
            "    {} — {} ({}), {}",
            d.holder_name,
            d.document_type.title_uk(),
            d.service_names.join(", "),
            diia_qr_projections::documents::wording::kyiv_time(d.received_at)
        );
    }
    Ok(())
}

/// The partner's own audit trail, once it has recorded everything: `audit.jsonl`, and the log's
/// verifier key beside it.
async fn export_audit(engine: &Engine, who: &PartnerIdentity, out: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    use diia_qr::app::audit::{ExportRequest, ExportRequester};
    use diia_qr_projections::audit_trail::export::ExportFormat;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = engine.projection_status().await?;
        if status.iter().all(|p| p.lag_events == 0 && !p.degraded()) {
            break;
        }
        if Instant::now() > deadline {
            bail!("проєкції не наздогнали журнал подій за 30 с");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (lines, mut received) = tokio::sync::mpsc::channel::<String>(1024);
    let requester = ExportRequester::Partner { partner_id: who.partner_id(), head: who.head.rnokpp.clone() };
    let exporting = engine.audit().export(&requester, ExportRequest::default(), ExportFormat::JsonLines, lines);
    let collecting = async {
        let mut text = String::new();
        while let Some(line) = received.recv().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    };
    let (exported, text) = tokio::join!(exporting, collecting);
    exported?;
    let audit = out.join("audit.jsonl");
    std::fs::write(&audit, text)?;
    let log_key = out.join("audit-log-key.txt");
    std::fs::write(&log_key, engine.audit().log_key() + "\n")?;
    Ok((audit, log_key))
}

/// The eight-digit code in a confirmation letter (a single base64 text part).
pub fn confirmation_code(eml: &str) -> Option<String> {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    let (_, body) = eml.split_once("\r\n\r\n")?;
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let text = String::from_utf8(BASE64_STANDARD.decode(compact).ok()?).ok()?;
    let after = text.split_once("Код підтвердження:")?.1.trim_start();
    Some(after.chars().take_while(char::is_ascii_digit).collect()).filter(|c: &String| c.len() == 8)
}
