//! `diia-qr pki init DIR` and `diia-qr kep sign-challenge`: the development PKI, and signing a
//! sign-in challenge with a КЕП key, for scripts and tests.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use diia_qr_projections::pki::{DevPki, TEST_PARTNERS};
use diia_qr_projections::seal::{OpenSslSeal, Signer};

#[derive(clap::Subcommand)]
pub(super) enum PkiCommand {
    /// Makes the development PKI in DIR (or completes it): a root, the qualified trust service
    /// CA (partners' КЕП, the seal), the citizens' CA, their CRLs, and test partners' КЕП
    /// (one revoked, one expired). The embedded default makes it in DATA_DIR/pki at first start.
    Init { dir: PathBuf },
}

#[derive(clap::Subcommand)]
pub(super) enum KepCommand {
    /// Signs a sign-in challenge (the `text` of POST /api/v1/partner/sign-in/challenge) with a
    /// КЕП key: prints the detached CMS signature in base64, the `signature_base64` to send.
    SignChallenge {
        /// The private key (PEM, unencrypted; ECDSA P-256 or RSA).
        #[arg(long)]
        key: PathBuf,
        /// The certificate (PEM), optionally followed by its chain.
        #[arg(long)]
        cert: PathBuf,
        /// More chain certificates (PEM).
        #[arg(long)]
        chain: Option<PathBuf>,
        /// The challenge text; standard input if absent or `-`.
        challenge: Option<PathBuf>,
    },
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("не вдалося прочитати {}", path.display()))
}

pub(super) fn run_pki(command: PkiCommand) -> anyhow::Result<()> {
    match command {
        PkiCommand::Init { dir } => {
            DevPki::load_or_create(&dir).with_context(|| format!("не вдалося створити PKI в {}", dir.display()))?;
            println!("Інфраструктура ключів для розробки в {}:", dir.display());
            println!("  {} — кореневий сертифікат (довірений корінь)", DevPki::CA_FILE);
            println!("  {} — кваліфікований надавач: КЕП партнерів і печатка сервісу", DevPki::QUALIFIED_CA_FILE);
            println!("  {} — центр сертифікації Дія.Підпису громадян", DevPki::CITIZENS_CA_FILE);
            println!("  {}, {} — списки відкликаних сертифікатів", DevPki::QUALIFIED_CRL_FILE, DevPki::CITIZENS_CRL_FILE);
            for partner in &TEST_PARTNERS {
                let (cert, key) = DevPki::partner_files(&dir, partner.name);
                println!("  КЕП {}: {} і {}", partner.name, cert.display(), key.display());
            }
            Ok(())
        }
    }
}

pub(super) fn run_kep(command: KepCommand) -> anyhow::Result<()> {
    match command {
        KepCommand::SignChallenge { key, cert, chain, challenge } => {
            let pem = read(&key)?;
            let key = openssl::pkey::PKey::private_key_from_pem_callback(&pem, |_| Ok(0))
                .with_context(|| format!("{}: не закритий ключ PEM (зашифровані ключі не підтримуються)", key.display()))?;
            let mut certs =
                openssl::x509::X509::stack_from_pem(&read(&cert)?).with_context(|| format!("{}: не сертифікат PEM", cert.display()))?;
            if let Some(chain) = &chain {
                certs.extend(openssl::x509::X509::stack_from_pem(&read(chain)?).with_context(|| format!("{}: не PEM", chain.display()))?);
            }
            anyhow::ensure!(!certs.is_empty(), "{}: немає сертифіката", cert.display());
            let leaf = certs.remove(0);
            anyhow::ensure!(leaf.public_key()?.public_eq(&key), "закритий ключ не відповідає сертифікату");
            let text = match challenge.filter(|p| p.as_os_str() != "-") {
                Some(path) => read(&path)?,
                None => {
                    let mut text = Vec::new();
                    std::io::stdin().read_to_end(&mut text).context("стандартний вхід")?;
                    text
                }
            };
            let signer = OpenSslSeal::new(key, leaf, certs);
            let signature = signer.sign_detached(&text, chrono::Utc::now()).context("підпис")?;
            println!("{}", BASE64_STANDARD.encode(signature));
            Ok(())
        }
    }
}
