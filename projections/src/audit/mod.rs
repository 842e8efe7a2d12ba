//! The tamper-evident audit trail's formats, pure (no IO): what an outside auditor recomputes.
//!
//! Public formats only, so a check needs none of our code (AUDIT-LOG.md): the RFC 9162 Merkle
//! tree over entries' RFC 8785 canonical JSON, and C2SP checkpoints signed as C2SP notes.
//! - `canonical`: an entry's leaf bytes;
//! - `tree`: leaf and node hashes, roots, inclusion and consistency proofs and their verifiers;
//! - `checkpoint`: the log key, and signing and opening a checkpoint;
//! - `subtrees`: the same proofs from stored complete subtrees, O(log² n) hashes each.

pub mod canonical;
pub mod checkpoint;
pub mod subtrees;
pub mod tree;

pub use canonical::{canonical_json, CanonicalError};
pub use checkpoint::{open_note, sign_note, Checkpoint, KeyError, LogKey, LogVerifier, NoteError};
pub use tree::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root, verify_consistency, verify_inclusion, Hash, ProofError,
};
