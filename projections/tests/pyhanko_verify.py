#!/usr/bin/env python3
"""Validates a detached CMS signature with pyHanko, an implementation independent of OpenSSL.

Usage: pyhanko_verify.py SIGNATURE.p7s CONTENT CA.pem

Trusts only the certificates in CA.pem, fetches nothing (no network), and prints one
`key=value` per line: intact, valid, trusted, bottom_line, signing_time (the signed signingTime
attribute, ISO 8601), signer, md_algorithm, mechanism. Exit status 0 when the signature is
intact, valid and trusted, 1 when it is not, 2 on a usage or parsing error. Called by the seal
tests in projections/src/seal.rs.
"""

import asyncio
import sys

from asn1crypto import cms
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.validation import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext


async def validate(signature_path: str, content_path: str, ca_path: str):
    with open(signature_path, "rb") as f:
        content_info = cms.ContentInfo.load(f.read())
    if content_info["content_type"].native != "signed_data":
        raise ValueError("not a CMS SignedData")
    roots = list(load_certs_from_pemder([ca_path]))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    with open(content_path, "rb") as content:
        return await async_validate_detached_cms(content, content_info["content"], signer_validation_context=context)


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        status = asyncio.run(validate(*sys.argv[1:4]))
    except Exception as e:  # a file that pyHanko cannot read at all
        print(f"error={type(e).__name__}: {e}")
        return 2
    signing_time = status.signer_reported_dt
    print(f"intact={status.intact}")
    print(f"valid={status.valid}")
    print(f"trusted={status.trusted}")
    print(f"bottom_line={status.bottom_line}")
    print(f"signing_time={signing_time.isoformat() if signing_time else None}")
    print(f"signer={status.signing_cert.subject.human_friendly}")
    print(f"md_algorithm={status.md_algorithm}")
    print(f"mechanism={status.pkcs7_signature_mechanism}")
    return 0 if status.intact and status.valid and status.trusted else 1


if __name__ == "__main__":
    sys.exit(main())
