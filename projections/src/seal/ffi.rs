//! The libcrypto calls that openssl 0.10 / openssl-sys 0.9 do not wrap, declared here and only
//! here, each used behind a safe function that owns what it allocates (so nothing leaks on any
//! error path) and lends out no raw pointer. Every `unsafe` block of this file is in this module.
//!
//! The declarations follow OpenSSL 3.0's `<openssl/cms.h>` (the project's OpenSSL; all of them
//! exist since 1.0.2). `CMS_SignerInfo` is opaque there, and `STACK_OF(CMS_SignerInfo)` is an
//! `OPENSSL_STACK`, read with `OPENSSL_sk_num`/`OPENSSL_sk_value`.

use std::ffi::{c_int, c_uint, c_void};
use std::marker::PhantomData;
use std::ptr;

use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::cms::{CmsContentInfo, CmsContentInfoRef};
use openssl::error::ErrorStack;
use openssl::pkey::{PKeyRef, Private};
use openssl::stack::StackRef;
use openssl::x509::{X509Ref, X509};
use openssl_sys as sys;

use super::SealError;

#[allow(non_camel_case_types)] // the C name, so the declarations read as in <openssl/cms.h>
enum CMS_SignerInfo {}

extern "C" {
    /// Adds a SignerInfo for `signer`/`pk`; takes its own references to both. The result is
    /// owned by `cms` (NULL on error, when nothing was added).
    fn CMS_add1_signer(
        cms: *mut sys::CMS_ContentInfo,
        signer: *mut sys::X509,
        pk: *mut sys::EVP_PKEY,
        md: *const sys::EVP_MD,
        flags: c_uint,
    ) -> *mut CMS_SignerInfo;
    /// Adds a signed attribute; with `len == -1` `bytes` is an ASN1 object of `attr_type`,
    /// which is copied. Returns 1 on success.
    fn CMS_signed_add1_attr_by_NID(si: *mut CMS_SignerInfo, nid: c_int, attr_type: c_int, bytes: *const c_void, len: c_int) -> c_int;
    /// Digests `data` and signs every SignerInfo; does not free `data`. Returns 1 on success.
    fn CMS_final(cms: *mut sys::CMS_ContentInfo, data: *mut sys::BIO, dcont: *mut sys::BIO, flags: c_uint) -> c_int;
    /// The SignerInfos of a SignedData, owned by `cms`; NULL (and an error queued) otherwise.
    fn CMS_get0_SignerInfos(cms: *mut sys::CMS_ContentInfo) -> *mut sys::OPENSSL_STACK;
    /// Index of the next signed attribute with `nid` after `lastpos`, or -1.
    fn CMS_signed_get_attr_by_NID(si: *const CMS_SignerInfo, nid: c_int, lastpos: c_int) -> c_int;
    /// The signed attribute at `loc`, owned by the SignerInfo.
    fn CMS_signed_get_attr(si: *const CMS_SignerInfo, loc: c_int) -> *mut sys::X509_ATTRIBUTE;
    /// Writes internal pointers (not references) to the SignerInfo's key, signer certificate
    /// (set once CMS_verify found it) and algorithms; NULL outputs are skipped.
    fn CMS_SignerInfo_get0_algs(
        si: *mut CMS_SignerInfo,
        pk: *mut *mut sys::EVP_PKEY,
        signer: *mut *mut sys::X509,
        pdig: *mut *mut sys::X509_ALGOR,
        psig: *mut *mut sys::X509_ALGOR,
    );
}

/// A read-only memory BIO over borrowed bytes, freed on drop.
struct MemBioSlice<'a>(*mut sys::BIO, PhantomData<&'a [u8]>);

impl<'a> MemBioSlice<'a> {
    fn new(buf: &'a [u8]) -> Result<Self, SealError> {
        let len = c_int::try_from(buf.len()).map_err(|_| SealError::Invalid(format!("документ завеликий: {} байтів", buf.len())))?;
        // SAFETY: BIO_new_mem_buf makes a read-only BIO that reads `buf` in place; the
        // lifetime ties the BIO to `buf`, and Drop frees it.
        let bio = unsafe { sys::BIO_new_mem_buf(buf.as_ptr().cast(), len) };
        if bio.is_null() {
            return Err(ErrorStack::get().into());
        }
        Ok(Self(bio, PhantomData))
    }
}

impl Drop for MemBioSlice<'_> {
    fn drop(&mut self) {
        // SAFETY: the BIO was made by BIO_new_mem_buf, is owned by self alone and is freed once.
        unsafe { sys::BIO_free_all(self.0) };
    }
}

/// A detached SignedData over `content` by `signer`/`key` with SHA-256, the CAdES-BES signed
/// attributes, signingTime = `signing_time`, and the `chain` certificates.
///
/// How: CMS_sign with PARTIAL and no signer makes an unsigned SignedData holding the chain;
/// CMS_add1_signer with CMS_CADES adds the SignerInfo with ESS signing-certificate-v2; we add
/// signingTime; CMS_final digests the content, adds messageDigest and contentType, and signs.
/// OpenSSL's CMS_SignerInfo_sign adds a signingTime of its own only when none is present
/// (`CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) < 0`), so ours is the only one.
pub(super) fn sign_detached_at(
    signer: &X509Ref,
    key: &PKeyRef<Private>,
    chain: &StackRef<X509>,
    content: &[u8],
    signing_time: &Asn1TimeRef,
) -> Result<CmsContentInfo, SealError> {
    let data = MemBioSlice::new(content)?;
    let flags = sys::CMS_PARTIAL | sys::CMS_DETACHED | sys::CMS_BINARY | sys::CMS_NOSMIMECAP;
    // SAFETY: NULL signer, key and data are allowed with CMS_PARTIAL; CMS_sign takes its own
    // references to the chain's certificates and leaves the stack ours. The result, checked
    // for NULL, is owned by `cms` at once and freed by its Drop on every path below.
    let cms = unsafe {
        let p = sys::CMS_sign(ptr::null_mut(), ptr::null_mut(), chain.as_ptr(), ptr::null_mut(), flags);
        if p.is_null() {
            return Err(ErrorStack::get().into());
        }
        CmsContentInfo::from_ptr(p)
    };
    let signer_flags = sys::CMS_DETACHED | sys::CMS_BINARY | sys::CMS_NOSMIMECAP | super::CMS_CADES;
    // SAFETY: all pointers are live for the call; CMS_add1_signer up-refs `signer` and `key`
    // (it checks that they match). EVP_sha256 returns a static. The SignerInfo it returns
    // belongs to `cms`: it is used only below, while `cms` lives, and never freed here.
    let si = unsafe { CMS_add1_signer(cms.as_ptr(), signer.as_ptr(), key.as_ptr(), sys::EVP_sha256(), signer_flags) };
    if si.is_null() {
        return Err(ErrorStack::get().into());
    }
    // SAFETY: `signing_time` is a live ASN1_TIME (an ASN1_STRING of type UTCTime, or
    // GeneralizedTime outside 1950–2049); with len -1 OpenSSL copies it into the attribute,
    // exactly as its own cms_add1_signingTime does. `si` is live (owned by `cms`).
    let added = unsafe {
        let time = signing_time.as_ptr();
        let kind = sys::ASN1_STRING_type(time as *const sys::ASN1_STRING);
        CMS_signed_add1_attr_by_NID(si, sys::NID_pkcs9_signingTime, kind, time as *const c_void, -1)
    };
    if added <= 0 {
        return Err(ErrorStack::get().into());
    }
    // SAFETY: `cms` and the data BIO are live; CMS_final reads the BIO to its end and does not
    // free it (MemBioSlice does). No output BIO for detached content.
    if unsafe { CMS_final(cms.as_ptr(), data.0, ptr::null_mut(), flags) } <= 0 {
        return Err(ErrorStack::get().into());
    }
    Ok(cms)
}

/// The SignerInfos of `cms`, or None when it is not a SignedData.
fn signer_infos(cms: &CmsContentInfoRef) -> Option<*mut sys::OPENSSL_STACK> {
    // SAFETY: a read-only look-up; the stack belongs to `cms` and is used only by the callers
    // below while their `cms` borrow lives.
    let infos = unsafe { CMS_get0_SignerInfos(cms.as_ptr()) };
    if infos.is_null() {
        // Drop the queued "not signed data" so it does not surface in a later error.
        drop(ErrorStack::get());
        None
    } else {
        Some(infos)
    }
}

/// A CMS ContentInfo that is the whole of `bytes`: `Err(Some(n))` when one was read from the
/// first `n` bytes and more follow (openssl's `from_der` accepts such a prefix and drops the
/// rest), `Err(None)` when none can be read.
pub(super) fn content_info_of_whole(bytes: &[u8]) -> Result<CmsContentInfo, Option<usize>> {
    let Ok(length) = std::ffi::c_long::try_from(bytes.len()) else { return Err(None) };
    let mut cursor = bytes.as_ptr();
    // SAFETY: d2i reads at most `length` bytes from `cursor`, which points into `bytes`, and moves
    // `cursor` past what it read; the result is a new object we own (NULL on error).
    let parsed = unsafe { sys::d2i_CMS_ContentInfo(ptr::null_mut(), &mut cursor, length) };
    if parsed.is_null() {
        drop(ErrorStack::get());
        return Err(None);
    }
    // SAFETY: `parsed` is a fresh, owned CMS_ContentInfo; the wrapper frees it on drop.
    let cms = unsafe { CmsContentInfo::from_ptr(parsed) };
    // SAFETY: d2i left `cursor` within `bytes` (at most at its end).
    let read = usize::try_from(unsafe { cursor.offset_from(bytes.as_ptr()) }).unwrap_or(0);
    if read == bytes.len() {
        Ok(cms)
    } else {
        Err(Some(read))
    }
}

/// The first SignerInfo of `cms` (owned by it), if any.
fn first_signer(cms: &CmsContentInfoRef) -> Option<*mut CMS_SignerInfo> {
    let infos = signer_infos(cms)?;
    // SAFETY: `infos` is a live stack of CMS_SignerInfo owned by `cms`; index 0 is checked by
    // OPENSSL_sk_value, which returns NULL when out of range.
    let si = unsafe { sys::OPENSSL_sk_value(infos, 0) } as *mut CMS_SignerInfo;
    (!si.is_null()).then_some(si)
}

/// How many SignerInfos `cms` has; None when it is not a SignedData.
pub(super) fn signer_count(cms: &CmsContentInfoRef) -> Option<usize> {
    let infos = signer_infos(cms)?;
    // SAFETY: `infos` is a live stack owned by `cms`.
    let n = unsafe { sys::OPENSSL_sk_num(infos) };
    Some(usize::try_from(n).unwrap_or(0))
}

/// The first signer's signingTime attribute as Unix seconds; None when absent; Err (for
/// people) when repeated, multi-valued, of a wrong type or unreadable.
pub(super) fn signing_time(cms: &CmsContentInfoRef) -> Result<Option<i64>, String> {
    let Some(si) = first_signer(cms) else { return Ok(None) };
    // SAFETY: `si` is a live SignerInfo owned by `cms`; the look-ups read its attribute list.
    let (first, second) = unsafe {
        let first = CMS_signed_get_attr_by_NID(si, sys::NID_pkcs9_signingTime, -1);
        (first, if first >= 0 { CMS_signed_get_attr_by_NID(si, sys::NID_pkcs9_signingTime, first) } else { -1 })
    };
    if first < 0 {
        return Ok(None);
    }
    if second >= 0 {
        return Err("атрибут signingTime повторено".into());
    }
    // SAFETY: `first` is a valid index, so the attribute exists and belongs to `si`; its single
    // value's ASN1_TYPE is read in place. For UTCTime and GeneralizedTime the value is an
    // ASN1_STRING, i.e. an ASN1_TIME, borrowed only within this block.
    let seconds = unsafe {
        let attr = CMS_signed_get_attr(si, first);
        if attr.is_null() || sys::X509_ATTRIBUTE_count(attr) != 1 {
            return Err("атрибут signingTime має мати одне значення".into());
        }
        let value = sys::X509_ATTRIBUTE_get0_type(attr, 0);
        if value.is_null() || !matches!((*value).type_, sys::V_ASN1_UTCTIME | sys::V_ASN1_GENERALIZEDTIME) {
            return Err("атрибут signingTime не є часом (UTCTime або GeneralizedTime)".into());
        }
        let time = Asn1TimeRef::from_ptr((*value).value.ptr as *mut sys::ASN1_TIME);
        let epoch = Asn1Time::from_unix(0).map_err(|e| e.to_string())?;
        let diff = epoch.diff(time).map_err(|e| format!("атрибут signingTime не читається: {e}"))?;
        i64::from(diff.days) * 86_400 + i64::from(diff.secs)
    };
    Ok(Some(seconds))
}

/// Whether the first signer has a signed attribute `nid`.
pub(super) fn has_signed_attribute(cms: &CmsContentInfoRef, nid: c_int) -> bool {
    // SAFETY: `si` is a live SignerInfo owned by `cms`; the look-up only reads its attributes.
    first_signer(cms).is_some_and(|si| unsafe { CMS_signed_get_attr_by_NID(si, nid, -1) } >= 0)
}

/// The first signer's certificate, once a CMS_verify call has matched it (a reference of our
/// own); None when the signature carries no matching certificate.
pub(super) fn signer_certificate(cms: &CmsContentInfoRef) -> Option<X509> {
    let si = first_signer(cms)?;
    let mut signer: *mut sys::X509 = ptr::null_mut();
    // SAFETY: `si` is live (owned by `cms`); only the signer output is requested. The pointer
    // is internal to `si`: it is up-ref'd into an owned X509 (to_owned) before `cms` can go.
    unsafe {
        CMS_SignerInfo_get0_algs(si, ptr::null_mut(), &mut signer, ptr::null_mut(), ptr::null_mut());
        (!signer.is_null()).then(|| X509Ref::from_ptr(signer).to_owned())
    }
}
