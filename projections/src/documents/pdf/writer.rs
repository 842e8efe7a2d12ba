//! Serialisation of a PDF file: numbered objects, a classic cross-reference table and the
//! trailer. Objects are written as soon as they are made; numbers can be reserved first for
//! objects that are referred to before they are written (the page tree).

use std::io::Write as _;

/// zlib-compresses `data` (for `/Filter /FlateDecode`).
pub(super) fn deflate(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::new(level));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

pub(super) struct Writer {
    out: Vec<u8>,
    /// Byte offset of each object, by number - 1 (`None`: reserved, not yet written).
    offsets: Vec<Option<usize>>,
}

impl Writer {
    /// A file with the PDF 1.7 header and the binary comment that marks it as binary.
    pub(super) fn new(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        Self { out, offsets: Vec::with_capacity(32) }
    }

    /// A number for an object written later with [`Self::object_as`] or [`Self::stream_as`].
    pub(super) fn reserve(&mut self) -> u32 {
        self.offsets.push(None);
        self.offsets.len() as u32
    }

    fn begin(&mut self, id: u32) {
        let slot = &mut self.offsets[id as usize - 1];
        debug_assert!(slot.is_none(), "object {id} written twice");
        *slot = Some(self.out.len());
        let _ = writeln!(self.out, "{id} 0 obj");
    }

    /// Writes a non-stream object (`body` is its PDF syntax); returns its number.
    pub(super) fn object(&mut self, body: &str) -> u32 {
        let id = self.reserve();
        self.object_as(id, body);
        id
    }

    pub(super) fn object_as(&mut self, id: u32, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// Writes a stream whose dictionary holds `/Length` and the entries in `dict`.
    pub(super) fn stream(&mut self, dict: &str, data: &[u8]) -> u32 {
        let id = self.reserve();
        self.stream_as(id, dict, data);
        id
    }

    pub(super) fn stream_as(&mut self, id: u32, dict: &str, data: &[u8]) {
        self.begin(id);
        let _ = write!(self.out, "<< /Length {} {dict} >>\nstream\n", data.len());
        self.out.extend_from_slice(data);
        // The end-of-line before `endstream` is not part of the data (PDF/A requires it).
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// The cross-reference table and trailer; `trailer` holds the entries besides `/Size`.
    pub(super) fn finish(mut self, trailer: &str) -> Vec<u8> {
        let xref = self.out.len();
        let _ = write!(self.out, "xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len() + 1);
        for offset in &self.offsets {
            debug_assert!(offset.is_some(), "an object was reserved and never written");
            // A reserved number never written is listed as free rather than pointing nowhere.
            match offset {
                Some(o) => {
                    let _ = write!(self.out, "{o:010} 00000 n\r\n");
                }
                None => self.out.extend_from_slice(b"0000000000 00001 f\r\n"),
            }
        }
        let _ = write!(self.out, "trailer\n<< /Size {} {trailer} >>\nstartxref\n{xref}\n%%EOF\n", self.offsets.len() + 1);
        self.out
    }
}
