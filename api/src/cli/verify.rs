//! `diia-qr verify`: a copy checked as the verification service checks it. Offline, only the
//! seal can be judged (pinned to the published seal certificates); with `--registry`, the
//! service's database says whether these bytes were issued and, if not, what changed.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use diia_qr::startup::Database;
use diia_qr_projections::documents::pdf::read;
use diia_qr_projections::pki::revocation::RevocationLists;
use diia_qr_projections::pki::DevPki;
use diia_qr_projections::seal::SealCertificates;
use diia_qr_projections::verification::{check_seal, verify_copy, CopyVerification, SealTrust, Verdict};
use openssl::x509::X509;

use super::DatabaseArgs;

pub(super) struct Files {
    pub pdf: PathBuf,
    pub p7s: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub seal_certificates: Option<PathBuf>,
}

fn read_file(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("не вдалося прочитати {}", path.display()))
}

pub(super) async fn run(files: Files, registry: bool, database: DatabaseArgs) -> anyhow::Result<()> {
    let pki = database.data_dir.join("pki");
    let development = files.ca.is_none();
    let ca = files.ca.unwrap_or_else(|| pki.join(DevPki::CA_FILE));
    let anchors = openssl::x509::X509::stack_from_pem(&read_file(&ca)?).with_context(|| format!("{}: не PEM-сертифікати", ca.display()))?;
    let seals = match &files.seal_certificates {
        Some(path) => {
            SealCertificates::from_pem(&read_file(path)?).with_context(|| format!("{}: не сертифікати печатки", path.display()))?
        }
        None => DevPki::seal_certificates(&pki).with_context(|| {
            format!(
                "немає сертифікатів печатки в {}: вкажіть --seal-certificates (їх публікує сервіс: /api/v1/seal-certificates.pem)",
                pki.display()
            )
        })?,
    };
    // Offline, the development PKI's list of the qualified CA (which issues the seal) is read
    // when it is there; with a deployment's files, revocation is the registry's side.
    let revocation = development
        .then(|| {
            let qualified = X509::from_pem(&std::fs::read(pki.join(DevPki::QUALIFIED_CA_FILE)).ok()?).ok()?;
            RevocationLists::load(vec![pki.join(DevPki::QUALIFIED_CRL_FILE)], vec![qualified]).ok()
        })
        .flatten()
        .map(Arc::new);
    let trust = SealTrust { anchors, seals, revocation };
    let pdf = read_file(&files.pdf)?;
    let p7s = files.p7s.as_ref().map(read_file).transpose()?;

    let result = if registry {
        let database = Database::open(&database.config(), true).await.context("не вдалося відкрити базу даних")?;
        let result = verify_copy(&database.pool, &pdf, p7s.as_deref(), &trust, None).await.context("реєстр виданих копій")?;
        database.close().await;
        result
    } else {
        match &p7s {
            Some(p7s) => check_seal(&pdf, p7s, &trust, None),
            None => {
                let claim = match read::open(&pdf) {
                    Ok(presented) => match presented.copy_id {
                        Some(id) => format!("Файл називає себе копією {id}."),
                        None => "У файлі немає ідентифікатора копії Дія.QR.".to_owned(),
                    },
                    Err(refusal) => format!("Файл не прочитано: {refusal}."),
                };
                anyhow::bail!("{claim} Без файлу підпису (.p7s) копію можна перевірити лише за реєстром виданих копій: додайте --registry");
            }
        }
    };
    print(&result);
    if !matches!(result.verdict, Verdict::Genuine | Verdict::Sealed) {
        anyhow::bail!("копія не пройшла перевірку ({})", verdict_name(result.verdict));
    }
    if result.verdict == Verdict::Sealed {
        println!("Реєстр виданих копій не перевірено (офлайн): чи видавав сервіс саме ці байти, покаже --registry або сторінка /verify.");
    }
    Ok(())
}

fn print(result: &CopyVerification) {
    println!("{}", result.message);
    if let Some(signer) = &result.signer {
        println!("Підписувач: {signer}");
    }
    if let Some(id) = result.claimed_copy_id {
        println!("Ідентифікатор копії: {id}");
    }
    for change in &result.changes {
        println!("  • {change}");
    }
    for warning in &result.warnings {
        println!("{warning}");
    }
}

fn verdict_name(verdict: Verdict) -> String {
    serde_json::to_value(verdict).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
