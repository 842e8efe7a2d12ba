//! The `diia-qr` binary as a person runs it: `serve` on its embedded defaults, and `demo`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("diia-qr-cli-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_starts_its_own_postgres_prints_its_url_and_stops_cleanly() {
    let data = temp_dir("serve");
    let mut child = Command::new(env!("CARGO_BIN_EXE_diia-qr"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(&data)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line on stdout").unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {first:?}"));
    let addr = url.trim_start_matches("http://").to_string();
    assert!(addr.starts_with("127.0.0.1:"), "loopback only: {addr}");
    assert!(http_get(&addr, "/health").contains("200 OK"));
    let ca = http_get(&addr, "/api/v1/ca.pem");
    assert!(ca.contains("BEGIN CERTIFICATE"), "{ca}");
    assert!(data.join("postgres").join("PG_VERSION").exists(), "the cluster lives in the data folder");

    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(!data.join("postgres").join("postmaster.pid").exists(), "the embedded cluster was stopped");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn serve_seals_with_a_key_given_as_pem_files() {
    let data = temp_dir("pem-seal");
    // A CA and a seal certificate it issued, made with the openssl command line.
    let (ca_key, ca, key, csr, cert) =
        (data.join("ca.key.pem"), data.join("ca.pem"), data.join("seal.key.pem"), data.join("seal.csr"), data.join("seal.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=Test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout"])
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca));
    run(Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=Test seal/O=Test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    let ext = data.join("ext.cnf");
    std::fs::write(&ext, "keyUsage=critical,digitalSignature,nonRepudiation\n").unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "30", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    let mut child = Command::new(env!("CARGO_BIN_EXE_diia-qr"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(&data)
        .arg("--seal-key")
        .arg(&key)
        .arg("--seal-certificate")
        .arg(&cert)
        .arg("--seal-chain")
        .arg(&ca)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap()).lines().next().expect("a line").unwrap();
    let addr = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_start_matches("http://").to_string();
    let published = http_get(&addr, "/api/v1/ca.pem");
    let ours = std::fs::read_to_string(&ca).unwrap();
    let body_of = |pem: &str| pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>();
    assert!(body_of(&published).contains(&body_of(&ours)), "the published anchor is the configured seal's CA:\n{published}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    std::fs::remove_dir_all(&data).unwrap();
}

/// Extracts a letter's attachments with Python's `email` package; returns their file names.
fn attachments(eml: &Path, into: &Path) -> Vec<String> {
    let script = "import sys,os,email\nfrom email import policy\nm=email.message_from_binary_file(open(sys.argv[1],'rb'),policy=policy.default)\nfor p in m.iter_attachments():\n    open(os.path.join(sys.argv[2],p.get_filename()),'wb').write(p.get_content()); print(p.get_filename())";
    run(Command::new("python3").args(["-c", script]).arg(eml).arg(into)).lines().map(str::to_string).collect()
}

#[test]
fn the_demo_leaves_a_qr_verifiable_copies_and_the_ca() {
    let out = temp_dir("demo");
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_diia-qr")).args(["demo", "--out"]).arg(&out).env("RUST_LOG", "warn"));
    assert!(stdout.contains("Мар'яна Ігорівна Їжакевич"), "{stdout}");
    // The demo's one search: a Latin spelling with a typo finds the Cyrillic name.
    let found = stdout.lines().skip_while(|l| !l.contains("Пошук отриманих документів")).nth(1).unwrap_or_default();
    assert!(found.contains("Їжакевич"), "{stdout}");
    for file in ["qr-1.svg", "qr-1.png", "poster-1.pdf", "poster-1.svg"] {
        assert!(out.join(file).exists(), "{file}");
    }
    {
        let decoded = run(Command::new("zbarimg").args(["--raw", "-q"]).arg(out.join("qr-1.png")));
        assert!(decoded.trim().contains("/qr/v1/"), "{decoded}");
    }
    let ca = out.join("diia-qr-dev-ca.pem");
    assert!(ca.exists());
    let seals = out.join("diia-qr-seal-certificates.pem");
    assert!(std::fs::read_to_string(&seals).unwrap().contains("BEGIN CERTIFICATE"));
    let letters: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("share-"))
        .collect();
    assert_eq!(letters.len(), 4, "{letters:?}");
    let unpacked = out.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let mut pdfs = 0;
    for letter in letters {
        for name in attachments(&letter, &unpacked).into_iter().filter(|n| n.ends_with(".pdf")) {
            let pdf = unpacked.join(&name);
            run(Command::new("openssl")
                .args(["cms", "-verify", "-binary", "-inform", "DER", "-out", "/dev/null"])
                .arg("-in")
                .arg(pdf.with_extension("p7s"))
                .arg("-content")
                .arg(&pdf)
                .arg("-CAfile")
                .arg(&ca));
            // CAdES-BES, as issue 3 asks it to be checked.
            run(Command::new("openssl")
                .args(["cms", "-verify", "-binary", "-inform", "DER", "-cades", "-purpose", "any", "-out", "/dev/null"])
                .arg("-in")
                .arg(pdf.with_extension("p7s"))
                .arg("-content")
                .arg(&pdf)
                .arg("-CAfile")
                .arg(&ca));
            let attributes =
                run(Command::new("openssl").args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"]).arg(pdf.with_extension("p7s")));
            assert!(attributes.contains("signingTime") && attributes.contains("id-smime-aa-signingCertificateV2"), "{attributes}");
            // The command a person runs: genuine, and an altered copy is refused.
            let verified = run(Command::new(env!("CARGO_BIN_EXE_diia-qr"))
                .arg("verify")
                .arg(&pdf)
                .arg(pdf.with_extension("p7s"))
                .arg("--ca")
                .arg(&ca)
                .arg("--seal-certificates")
                .arg(&seals));
            assert!(verified.contains("Печатка сервісу") && verified.contains("справжня"), "{verified}");
            assert!(verified.contains("Реєстр виданих копій не перевірено"), "offline says what it did not check: {verified}");
            {
                run(Command::new("qpdf").arg("--check").arg(&pdf));
            }
            {
                let text = run(Command::new("pdftotext").arg(&pdf).arg("-"));
                assert!(text.contains("ТОВ «Готель „Палаццо“»") && text.contains("Копію сформовано"), "{name}:\n{text}");
            }
            pdfs += 1;
        }
    }
    assert_eq!(pdfs, 9, "every requested document of the four shares");
    // The partner's audit trail, verifiable with what the demo leaves beside it.
    let log_key = std::fs::read_to_string(out.join("audit-log-key.txt")).unwrap();
    let verified = run(Command::new(env!("CARGO_BIN_EXE_diia-qr"))
        .args(["audit", "verify"])
        .arg(out.join("audit.jsonl"))
        .arg("--ca")
        .arg(&ca)
        .args(["--log-key", log_key.trim()]));
    assert!(verified.contains("Вивантаження цілісне") && verified.contains("4 підписів згоди перевірено"), "{verified}");
    // Each consent beside its Diia.Signature, verifiable with the citizens' CA alone; the
    // accession application with the partners' CA; neither CA verifies the other's signer.
    let cms_verify = |content: &Path, signature: &Path, ca_file: &str| {
        Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-partial_chain", "-purpose", "any", "-out", "/dev/null", "-in"])
            .arg(signature)
            .arg("-content")
            .arg(content)
            .arg("-CAfile")
            .arg(out.join(ca_file))
            .output()
            .unwrap()
            .status
            .success()
    };
    for n in 1..=4 {
        let (statement, signature) = (out.join(format!("consent-{n}.json")), out.join(format!("consent-{n}.p7s")));
        assert!(cms_verify(&statement, &signature, "citizens-ca.pem"), "consent {n} verifies against the citizens' CA");
        assert!(!cms_verify(&statement, &signature, "partners-ca.pem"), "a partners' CA does not vouch for a citizen");
        let fields: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&statement).unwrap()).unwrap();
        assert_eq!(fields["organisation_name"], "ТОВ «Готель „Палаццо“»", "{fields}");
        assert!(fields["share_request_id"].as_str().is_some_and(|id| stdout.contains(&format!("share-{id}"))), "{fields}");
    }
    let (application, application_signature) = (out.join("accession-application.pdf"), out.join("accession-application.p7s"));
    assert!(cms_verify(&application, &application_signature, "partners-ca.pem"), "the head's КЕП verifies against the partners' CA");
    assert!(!cms_verify(&application, &application_signature, "citizens-ca.pem"));
    let mut names: Vec<String> =
        std::fs::read_dir(&unpacked).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for code in [
        "internal-passport",
        "foreign-passport",
        "taxpayer-card",
        "birth-certificate",
        "reference-internally-displaced-person",
        "driver-license",
        "vehicle-license",
        "student-id-card",
    ] {
        assert!(names.iter().any(|n| n.starts_with(code) && n.ends_with(".pdf")), "no copy of {code}: {names:?}");
    }
    let some_pdf = unpacked.join(names.iter().find(|n| n.ends_with(".pdf")).unwrap());
    let mut altered = std::fs::read(&some_pdf).unwrap();
    let at = altered.len() / 2;
    altered[at] ^= 0x20;
    let altered_path = unpacked.join("altered.pdf");
    std::fs::write(&altered_path, altered).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_diia-qr"))
        .arg("verify")
        .arg(&altered_path)
        .arg(some_pdf.with_extension("p7s"))
        .arg("--ca")
        .arg(&ca)
        .arg("--seal-certificates")
        .arg(&seals)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an altered copy fails verification");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("altered"), "{}", String::from_utf8_lossy(&refused.stderr));
    std::fs::remove_dir_all(&out).unwrap();
}
