// Signing with the head's КЕП in the browser, as Ukrainian portals' signing widgets do: the key
// file is read here, the signature is made here by WebCrypto (PKI.js builds the CMS around it),
// and only the signature is sent. The key's file inputs have no name, so a form never uploads
// them.
//
// A form with data-kep-sign signs either data-text (a sign-in challenge) or the bytes at
// data-document (the accession application's PDF), puts the detached CMS SignedData (DER,
// base64) into its `signature` field and is then submitted. Messages come from the form's
// data-msg-* attributes, in the page's language.
"use strict";

(function () {
  const forms = document.querySelectorAll("form[data-kep-sign]");
  if (!forms.length || !window.DiiaPki || !window.crypto || !window.crypto.subtle) return;
  const { pkijs, asn1js } = window.DiiaPki;

  const OID = {
    data: "1.2.840.113549.1.7.1",
    signedData: "1.2.840.113549.1.7.2",
    contentType: "1.2.840.113549.1.9.3",
    messageDigest: "1.2.840.113549.1.9.4",
    signingTime: "1.2.840.113549.1.9.5",
    ecPublicKey: "1.2.840.10045.2.1",
    rsaEncryption: "1.2.840.113549.1.1.1",
    keyBag: "1.2.840.113549.1.12.10.1.1",
    shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
    certBag: "1.2.840.113549.1.12.10.1.3",
  };
  const CURVES = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };

  /** A refusal to show the user: `key` names one of the form's data-msg-* texts. */
  class Refusal extends Error {
    constructor(key) {
      super(key);
      this.key = key;
    }
  }

  function pemBlocks(text) {
    const blocks = [];
    const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
    let m;
    while ((m = re.exec(text))) {
      const b64 = m[2].replace(/[^A-Za-z0-9+/=]/g, "");
      const bin = atob(b64);
      const der = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
      blocks.push({ label: m[1], der: der.buffer });
    }
    return blocks;
  }

  function isPem(bytes) {
    return new TextDecoder().decode(bytes.slice(0, 4096)).includes("-----BEGIN ");
  }

  async function importPrivateKey(der) {
    let info;
    try {
      info = pkijs.PrivateKeyInfo.fromBER(der);
    } catch (e) {
      throw new Refusal("unsupported");
    }
    const algorithm = info.privateKeyAlgorithm.algorithmId;
    let params;
    if (algorithm === OID.ecPublicKey) {
      const curve = info.privateKeyAlgorithm.algorithmParams;
      const named = curve && CURVES[curve.valueBlock.toString()];
      if (!named) throw new Refusal("unsupported");
      params = { name: "ECDSA", namedCurve: named };
    } else if (algorithm === OID.rsaEncryption) {
      params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    } else {
      throw new Refusal("unsupported");
    }
    try {
      // Extractable only so that its public half can be compared with the certificate's; it
      // stays in this page's memory either way.
      return { key: await crypto.subtle.importKey("pkcs8", der, params, true, ["sign"]), params };
    } catch (e) {
      throw new Refusal("unsupported");
    }
  }

  function certificatesOf(bytes) {
    if (isPem(bytes)) {
      return pemBlocks(new TextDecoder().decode(bytes))
        .filter((b) => b.label === "CERTIFICATE")
        .map((b) => pkijs.Certificate.fromBER(b.der));
    }
    try {
      return [pkijs.Certificate.fromBER(bytes)];
    } catch (e) {
      throw new Refusal("no-certificate");
    }
  }

  /** The key and certificates in a PKCS#12 (.p12, .pfx) file, opened with `password`. */
  async function openPkcs12(bytes, password) {
    const secret = new TextEncoder().encode(password).buffer;
    let pfx;
    try {
      pfx = pkijs.PFX.fromBER(bytes);
    } catch (e) {
      throw new Refusal("unsupported");
    }
    try {
      await pfx.parseInternalValues({ password: secret, checkIntegrity: true });
      const safe = pfx.parsedValue.authenticatedSafe;
      await safe.parseInternalValues({ safeContents: safe.safeContents.map(() => ({ password: secret })) });
      let keyDer = null;
      const certificates = [];
      for (const contents of safe.parsedValue.safeContents) {
        for (const bag of contents.value.safeBags) {
          if (bag.bagId === OID.shroudedKeyBag) {
            await bag.bagValue.parseInternalValues({ password: secret });
            keyDer = bag.bagValue.parsedValue.toSchema().toBER(false);
          } else if (bag.bagId === OID.keyBag) {
            keyDer = bag.bagValue.toSchema().toBER(false);
          } else if (bag.bagId === OID.certBag) {
            certificates.push(bag.bagValue.parsedValue);
          }
        }
      }
      if (!keyDer) throw new Refusal("no-key");
      return { ...(await importPrivateKey(keyDer)), certificates };
    } catch (e) {
      if (e instanceof Refusal) throw e;
      // A wrong password fails the file's integrity check (or its decryption).
      throw new Refusal("wrong-password");
    }
  }

  /** The private key and the signer's certificates (signer first) from the picked files. */
  async function readKep(keyFile, certFile, password) {
    const bytes = new Uint8Array(await keyFile.arrayBuffer());
    let key = null;
    let params = null;
    let certificates = [];
    if (isPem(bytes)) {
      const blocks = pemBlocks(new TextDecoder().decode(bytes));
      if (blocks.some((b) => b.label === "ENCRYPTED PRIVATE KEY")) throw new Refusal("encrypted-pem");
      const keyBlock = blocks.find((b) => b.label === "PRIVATE KEY");
      if (!keyBlock) throw new Refusal("no-key");
      ({ key, params } = await importPrivateKey(keyBlock.der));
      certificates = blocks.filter((b) => b.label === "CERTIFICATE").map((b) => pkijs.Certificate.fromBER(b.der));
    } else {
      ({ key, params, certificates } = await openPkcs12(bytes.buffer, password));
    }
    if (certFile) certificates = certificatesOf(new Uint8Array(await certFile.arrayBuffer())).concat(certificates);
    if (!certificates.length) throw new Refusal("no-certificate");
    if (!(await matches(key, params, certificates[0]))) throw new Refusal("mismatch");
    return { key, certificates };
  }

  /** Whether `key` is the private half of `certificate`'s public key. */
  async function matches(key, params, certificate) {
    try {
      const mine = await crypto.subtle.exportKey("jwk", key);
      const theirs = await crypto.subtle.exportKey(
        "jwk",
        await certificate.getPublicKey({ algorithm: { algorithm: params, usages: ["verify"] } }),
      );
      return ["x", "y", "n", "e"].every((part) => mine[part] === theirs[part]);
    } catch (e) {
      return false;
    }
  }

  /** A detached CMS SignedData over `content`, signed by the first certificate's key. */
  async function signDetached(content, key, certificates) {
    const signer = certificates[0];
    const digest = await crypto.subtle.digest("SHA-256", content);
    const signed = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: signer.issuer, serialNumber: signer.serialNumber }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: [
              new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
              new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
              new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: digest })] }),
            ],
          }),
        }),
      ],
      certificates,
    });
    try {
      await signed.sign(key, 0, "SHA-256");
    } catch (e) {
      throw new Refusal("signing");
    }
    const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
    const der = new Uint8Array(info.toSchema().toBER(false));
    let bin = "";
    for (const b of der) bin += String.fromCharCode(b);
    return btoa(bin);
  }

  for (const form of forms) {
    const status = form.querySelector("[data-kep-status]");
    const say = (key) => {
      status.textContent = form.dataset["msg" + key.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase())] || key;
    };
    form.addEventListener("submit", async (event) => {
      if (form.dataset.kepSigned === "1") return;
      event.preventDefault();
      const keyFile = form.querySelector("[data-kep-key]").files[0];
      const certInput = form.querySelector("[data-kep-cert]");
      const certFile = certInput && certInput.files[0];
      const password = (form.querySelector("[data-kep-password]") || { value: "" }).value;
      if (!keyFile) return say("no-key");
      say("working");
      try {
        const { key, certificates } = await readKep(keyFile, certFile, password);
        let content;
        if (form.dataset.text !== undefined) {
          content = new TextEncoder().encode(form.dataset.text);
        } else {
          const response = await fetch(form.dataset.document, { credentials: "same-origin" });
          if (!response.ok) throw new Refusal("document");
          content = new Uint8Array(await response.arrayBuffer());
        }
        form.querySelector("input[name=signature]").value = await signDetached(content, key, certificates);
        say("signed");
        form.dataset.kepSigned = "1";
        form.submit();
      } catch (e) {
        say(e instanceof Refusal ? e.key : "signing");
      }
    });
  }
})();
