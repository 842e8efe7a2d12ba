//! What makes a document PDF/A-2b besides its content: the XMP metadata (matching the Info
//! dictionary), and the output intent with its sRGB ICC profile.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use lopdf::{dictionary, Dictionary, Object, ObjectId, Stream};

use super::deflate;

/// sRGB IEC61966-2.1, version 2 profile from Debian's icc-profiles-free (zlib licence,
/// `assets/icc/LICENSE-sRGB.txt`).
static SRGB_ICC: &[u8] = include_bytes!("../../../assets/icc/sRGB.icc");

/// The ICC profile as a stream object, zlib-compressed once per process.
pub(super) fn srgb_icc() -> &'static Stream {
    static STREAM: OnceLock<Stream> = OnceLock::new();
    STREAM.get_or_init(|| {
        let mut stream = Stream::new(dictionary! { "N" => 3, "Filter" => "FlateDecode" }, deflate(SRGB_ICC, 9));
        stream.allows_compression = false;
        stream
    })
}

/// The OutputIntents array entry (a direct dictionary) for the profile object `icc`.
pub(super) fn output_intent(icc: ObjectId) -> Dictionary {
    let name = || Object::string_literal("sRGB IEC61966-2.1");
    dictionary! {
        "Type" => "OutputIntent",
        "S" => "GTS_PDFA1",
        "OutputConditionIdentifier" => name(),
        "RegistryName" => Object::string_literal("http://www.color.org"),
        "Info" => name(),
        "DestOutputProfile" => icc,
    }
}

/// The producer named in the Info dictionary and in the XMP.
pub(super) const PRODUCER: &str = "Diia.QR";

/// Info dictionary date: `D:20240312102030+00'00'`.
pub(super) fn pdf_date(t: DateTime<Utc>) -> String {
    t.format("D:%Y%m%d%H%M%S+00'00'").to_string()
}

/// The XMP packet: the same title, dates and producer as the Info dictionary, the PDF/A-2b
/// identification, and the document's id when it has one (a copy's id, as `uuid:…`: what
/// verification reads back from a presented file).
pub(super) fn xmp(title: &str, created: DateTime<Utc>, document_id: Option<[u8; 16]>) -> String {
    let date = created.format("%Y-%m-%dT%H:%M:%S+00:00");
    let id = match document_id {
        Some(id) => {
            let id = uuid::Uuid::from_bytes(id).hyphenated();
            format!("   <xmpMM:DocumentID>uuid:{id}</xmpMM:DocumentID>\n   <xmpMM:InstanceID>uuid:{id}</xmpMM:InstanceID>\n")
        }
        None => String::new(),
    };
    let title = if title.is_empty() {
        String::new()
    } else {
        format!("   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n", xml_escape(title))
    };
    format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
         <rdf:Description rdf:about=\"\"\n   \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n   \
         xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n   \
         xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n   \
         xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\"\n   \
         xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n   \
         <dc:format>application/pdf</dc:format>\n\
         {title}   \
         <xmp:CreateDate>{date}</xmp:CreateDate>\n   \
         <xmp:ModifyDate>{date}</xmp:ModifyDate>\n   \
         <xmp:MetadataDate>{date}</xmp:MetadataDate>\n   \
         <pdf:Producer>{PRODUCER}</pdf:Producer>\n\
         {id}   \
         <pdfaid:part>2</pdfaid:part>\n   \
         <pdfaid:conformance>B</pdfaid:conformance>\n\
         </rdf:Description>\n\
         </rdf:RDF>\n\
         </x:xmpmeta>\n\
         <?xpacket end=\"w\"?>"
    )
}

/// The document title as both the Info dictionary and the XMP can hold it: without control
/// characters (XML 1.0 cannot hold most of them) and the non-characters U+FFFE and U+FFFF.
pub(super) fn clean_title(title: &str) -> String {
    title.chars().filter(|&c| !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}').collect()
}

/// Text as XML character data (after [`clean_title`]).
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_escapes_the_title() {
        let t = DateTime::parse_from_rfc3339("2024-03-12T10:20:30Z").unwrap().with_timezone(&Utc);
        let x = xmp(&clean_title("«A & B» <c>\u{1}"), t, Some([0xAB; 16]));
        assert!(x.contains(">«A &amp; B» &lt;c&gt;</rdf:li>"), "{x}");
        assert!(x.contains("<xmp:CreateDate>2024-03-12T10:20:30+00:00</xmp:CreateDate>"));
        assert_eq!(pdf_date(t), "D:20240312102030+00'00'");
        assert!(x.contains("<xmpMM:DocumentID>uuid:abababab-abab-abab-abab-abababababab</xmpMM:DocumentID>"), "{x}");
        assert!(!xmp("", t, None).contains("dc:title"));
        assert!(!xmp("", t, None).contains("DocumentID"));
    }

    #[test]
    fn the_icc_profile_is_srgb() {
        assert_eq!(&SRGB_ICC[36..40], b"acsp");
        assert_eq!(&SRGB_ICC[16..20], b"RGB ");
        assert!(srgb_icc().content.len() < 4096);
    }
}
