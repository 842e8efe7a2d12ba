#!/usr/bin/env python3
"""Writes the hostile CMS corpus beside this file (run once; the files are committed).

Real signatures come from the `openssl` command line with throwaway keys made in a temporary
folder (no key is kept); the structural ones are DER written byte by byte. None of them is a
signature the test's trust anchor accepts, so every file must be refused, never panicked on.
"""
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONTENT = "Копія документа для перевірки: Ґ Є І Ї, ім'я з апострофом\n".encode()


def der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, body):
    return bytes([tag]) + der_length(len(body)) + body


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True).stdout


SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")

with tempfile.TemporaryDirectory() as tmp:
    def key_and_cert(name, extra=()):
        key, cert = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".crt")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "3650", "-subj", f"/CN={name}/O=Тест/C=UA",
                "-utf8", *extra)
        return key, cert

    # The signed content, kept beside the signatures: the test verifies each one over it.
    content = os.path.join(HERE, "content.txt")
    with open(content, "wb") as f:
        f.write(CONTENT)
    a_key, a_cert = key_and_cert("Підписувач А")
    b_key, b_cert = key_and_cert("Підписувач Б")

    def cms_sign(*extra, key=a_key, cert=a_cert):
        return openssl("cms", "-sign", "-binary", "-in", content, "-signer", cert, "-inkey", key,
                       "-outform", "DER", *extra)

    genuine = cms_sign()
    write("self-signed-signer.p7s", genuine)
    write("two-signers.p7s", cms_sign("-signer", b_cert, "-inkey", b_key))
    write("no-certificates.p7s", cms_sign("-nocerts"))
    write("no-signed-attributes.p7s", cms_sign("-noattr"))
    write("attached-content.p7s", cms_sign("-nodetach"))
    write("sha1-digest.p7s", cms_sign("-md", "sha1"))
    write("indefinite-length-ber.p7s", cms_sign("-stream"))
    write("pem-armoured.p7s", openssl("cms", "-sign", "-binary", "-in", content, "-signer", a_cert,
                                      "-inkey", a_key, "-outform", "PEM"))
    write("truncated.p7s", genuine[: len(genuine) // 2])
    write("trailing-garbage.p7s", genuine + b"\x00" * 64 + b"garbage")
    write("enveloped-not-signed.p7s",
          openssl("cms", "-encrypt", "-binary", "-in", content, "-outform", "DER", "-aes256", a_cert))
    write("digested-not-signed.p7s",
          openssl("cms", "-digest_create", "-binary", "-in", content, "-outform", "DER"))
    # A SignedData with certificates and no signer at all (a "certs-only" bundle).
    write("no-signers.p7s", openssl("crl2pkcs7", "-nocrl", "-certfile", a_cert, "-outform", "DER"))
    # 400 copies of a certificate in one SignedData's bag.
    bundle = os.path.join(tmp, "bundle.pem")
    with open(bundle, "wb") as f, open(a_cert, "rb") as c:
        f.write(c.read() * 400)
    write("many-certificates.p7s", openssl("crl2pkcs7", "-nocrl", "-certfile", bundle, "-outform", "DER"))

# Structures written by hand.
write("empty.p7s", b"")
write("length-overflow.p7s", bytes.fromhex("3084ffffffff") + SIGNED_DATA_OID)
write("length-past-the-end.p7s", bytes.fromhex("30821000") + SIGNED_DATA_OID)
write("nested-sequences-indefinite.p7s", b"\x30\x80" * 50_000 + b"\x00\x00" * 50_000)
nested = SIGNED_DATA_OID
for _ in range(2_000):
    nested = tlv(0x30, nested)
write("nested-sequences-definite.p7s", nested)
huge_oid = bytes([0x06]) + der_length(20_001) + b"\x2a" + b"\xff" * 19_999 + b"\x01"
write("oid-twenty-kilobytes.p7s", tlv(0x30, huge_oid))
write("signed-data-empty.p7s", tlv(0x30, SIGNED_DATA_OID + tlv(0xA0, tlv(0x30, b""))))
write("integer-version-huge.p7s",
      tlv(0x30, SIGNED_DATA_OID + tlv(0xA0, tlv(0x30, tlv(0x02, b"\x7f" + b"\xff" * 4096)))))
