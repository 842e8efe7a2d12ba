use super::*;
use crate::documents::copies::tests::sample_copy;
use proptest::prelude::*;

/// The copy with its first page's content replaced by an incremental update, as a PDF editor
/// saves a change: the issued bytes stay in front, the update follows.
pub(crate) fn with_incremental_update(pdf: &[u8]) -> Vec<u8> {
    let mut update: lopdf::IncrementalDocument = pdf.try_into().expect("lopdf reads the copy");
    let page = *update.get_prev_documents().get_pages().get(&1).expect("a first page");
    let content = lopdf::Stream::new(lopdf::Dictionary::new(), b"BT /F1 30 Tf 50 400 Td <0001> Tj ET\n".to_vec());
    let content = update.new_document.add_object(content);
    update.opt_clone_object_to_new_document(page).expect("the page is cloned into the update");
    let page = update.new_document.get_object_mut(page).and_then(Object::as_dict_mut).expect("a page dictionary");
    page.set("Contents", content);
    let mut out = Vec::new();
    update.save_to(&mut out).expect("the update is written");
    out
}

#[test]
fn a_copy_carries_its_id_in_the_xmp_and_the_trailer() {
    let (id, pdf) = sample_copy();
    let read = open(&pdf).expect("a copy reads");
    assert_eq!(read.copy_id, Some(id));
    assert!(!read.copy_ids_disagree && !read.xref_repaired);
    assert!(read.earlier_revision_ends.is_empty(), "one revision");
    let roles: Vec<ObjectRole> = read.objects.iter().map(|o| o.role).collect();
    for role in [
        ObjectRole::Catalog,
        ObjectRole::Info,
        ObjectRole::Metadata,
        ObjectRole::Page(1),
        ObjectRole::PageContent(1),
        ObjectRole::Font,
        ObjectRole::ColourProfile,
    ] {
        assert!(roles.contains(&role), "{role:?} missing from {roles:?}");
    }
    // The spans tile the body: each object is its own bytes, in file order.
    for pair in read.objects.windows(2) {
        assert!(pair[0].span.end <= pair[1].span.start);
    }
    for o in &read.objects {
        assert!(pdf[o.span.clone()].starts_with(format!("{} 0 obj", o.number).as_bytes()), "{o:?}");
        assert!(pdf[o.span.clone()].ends_with(b"endobj"), "{o:?}");
    }
}

#[test]
fn a_changed_byte_shows_in_the_digest_of_its_object_only() {
    let (_, pdf) = sample_copy();
    let read = open(&pdf).expect("a copy reads");
    let issued = object_digests(&read, &pdf);
    let content = read.objects.iter().find(|o| o.role == ObjectRole::PageContent(1)).expect("page content").clone();
    let mut altered = pdf.clone();
    altered[content.span.start + content.span.len() / 2] ^= 0x01;
    let reread = open(&altered).expect("still readable");
    let changed: Vec<u32> = object_digests(&reread, &altered).iter().filter(|d| !issued.contains(d)).map(|(n, _)| *n).collect();
    assert_eq!(changed, vec![content.number]);
    assert_eq!(content.describe(), format!("об'єкт {} (вміст сторінки 1)", content.number));
}

#[test]
fn an_incremental_update_is_a_later_revision_with_the_objects_it_replaced() {
    let (id, pdf) = sample_copy();
    let updated = with_incremental_update(&pdf);
    assert!(updated.starts_with(&pdf));
    let read = open(&updated).expect("the updated file reads");
    assert_eq!(read.copy_id, Some(id), "the update keeps the id");
    assert!(read.earlier_revision_ends.contains(&pdf.len()), "{:?} vs {}", read.earlier_revision_ends, pdf.len());
    let roles: Vec<ObjectRole> = read.objects_from(pdf.len()).map(|o| o.role).collect();
    assert!(roles.contains(&ObjectRole::Page(1)) && roles.contains(&ObjectRole::PageContent(1)), "{roles:?}");
}

#[test]
fn what_is_not_a_pdf_or_too_large_is_refused_unread() {
    assert_eq!(open(b"").unwrap_err(), PdfRefusal::NotPdf);
    assert_eq!(open(b"Diia.QR consent statement\n").unwrap_err(), PdfRefusal::NotPdf);
    let huge = vec![b' '; MAX_PRESENTED_BYTES + 1];
    assert!(matches!(open(&huge), Err(PdfRefusal::TooLarge { .. })));
    assert!(matches!(open(b"%PDF-1.7\n%%EOF\n"), Err(PdfRefusal::Unreadable(_))));
}

/// Every file of the corpus (hostile hand-made files, and mutated copies that once broke a
/// reader) is either read or refused: no panic, no hang (each is small and lopdf's limits
/// bound the work).
#[test]
fn the_hostile_corpus_is_read_or_refused() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/pdf");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a corpus file");
        let outcome = open(&bytes);
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("refuse-")) {
            assert!(outcome.is_err(), "{} must be refused: {outcome:?}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 8, "the corpus is in the repository ({seen} files)");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Mutated copies: flipped bytes, a cut, a spliced run. Reading never panics; whatever is
    /// read keeps its spans inside the file.
    #[test]
    fn mutated_copies_are_read_or_refused(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
                                          cut in any::<prop::sample::Index>(),
                                          splice in any::<prop::sample::Index>(),
                                          junk in proptest::collection::vec(any::<u8>(), 0..64)) {
        let (_, pdf) = sample_copy();
        let mut bytes = pdf.clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        let at = splice.index(bytes.len());
        bytes.splice(at..at, junk);
        let keep = cut.index(bytes.len() + 1).max(bytes.len() / 2);
        bytes.truncate(keep);
        if let Ok(read) = open(&bytes) {
            for o in &read.objects {
                prop_assert!(o.span.start <= o.span.end && o.span.end <= bytes.len());
            }
            let _ = object_digests(&read, &bytes);
        }
    }
}
