//! The audit trail's Merkle tree, RFC 9162 §2.1: hashes, roots, inclusion and consistency proofs.
//!
//! Proofs are computed from the slice of all leaf hashes (the caller reads them from the
//! database), each in O(n) hashes: no cached interior nodes to keep in step with the log. The
//! verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, so they accept what any other
//! RFC 9162 verifier accepts (transparency-dev/merkle, Trillian, sigsum) and nothing more.

use openssl::sha::{sha256, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node or a root.
pub type Hash = [u8; 32];

/// Why a proof was not produced or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("запису №{index} немає в дереві з {size} записів")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The "older" tree is larger than the newer one.
    #[error("старіше дерево ({old_size} записів) більше за новіше ({new_size})")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    /// The proof has too many or too few hashes for the sizes it is said to connect.
    #[error("доказ має неправильну кількість гешів для цих розмірів дерева")]
    WrongLength,
    /// The proof, followed to the top, does not give the expected (newer) root.
    #[error("доказ не веде до кореня дерева: запис або дерево змінено")]
    RootMismatch,
    /// A consistency proof does not give the older tree's root: the old tree is not a prefix.
    #[error("доказ не веде до кореня старішого дерева: журнал переписано")]
    OldRootMismatch,
}

impl ProofError {
    /// A stable machine code for this error, for exports and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::IndexOutOfRange { .. } => "index-out-of-range",
            ProofError::SizesOutOfOrder { .. } => "sizes-out-of-order",
            ProofError::WrongLength => "proof-wrong-length",
            ProofError::RootMismatch => "root-mismatch",
            ProofError::OldRootMismatch => "old-root-mismatch",
        }
    }
}

/// The hash of a leaf: SHA-256(0x00 || leaf bytes).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(&[0x00]);
    hasher.update(leaf);
    hasher.finish()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(&[0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finish()
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// The Merkle tree hash (MTH) over these leaf hashes, in order.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The audit path of leaf `index` (RFC 9162 §2.1.3.1), nearest sibling first.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaves.len() as u64;
    let position = usize::try_from(index).ok().filter(|&position| position < leaves.len());
    let position = position.ok_or(ProofError::IndexOutOfRange { index, size })?;
    let mut proof = Vec::new();
    audit_path(position, leaves, &mut proof);
    Ok(proof)
}

/// The consistency proof from the tree's first `old_size` leaves to all of them (RFC 9162
/// §2.1.4.1); empty when `old_size` is 0 or the whole tree.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    let new_size = leaves.len() as u64;
    let old = usize::try_from(old_size).ok().filter(|&old| old <= leaves.len());
    let old = old.ok_or(ProofError::SizesOutOfOrder { old_size, new_size })?;
    let mut proof = Vec::new();
    if old > 0 {
        subproof(old, leaves, true, &mut proof);
    }
    Ok(proof)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
///
/// The size is bound only through the root: a proof for a tree of 3 leaves also passes as one
/// for 4 leaves against the 3-leaf root. Take size and root together from one signed checkpoint.
pub fn verify_inclusion(leaf_hash: &Hash, index: u64, tree_size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, size: tree_size });
    }
    // `f` walks up from the leaf, `s` from the last leaf; where they meet, the right edge of
    // the tree has no sibling on the right and levels are skipped.
    let (mut f, mut s) = (index, tree_size - 1);
    let mut computed = *leaf_hash;
    for sibling in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            computed = node_hash(sibling, &computed);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            computed = node_hash(&computed, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if computed != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with `old_root` is a prefix of the tree of
/// `new_size` leaves with `new_root` (RFC 9162 §2.1.4.2).
///
/// As with inclusion, sizes are bound only through their roots: take each size and root from one
/// signed checkpoint. The RFC's algorithm covers 0 < old_size < new_size. Equal sizes need an empty proof and equal
/// roots; an old size of 0 needs an empty proof and the empty tree's root, since every tree
/// extends the empty one.
pub fn verify_consistency(old_size: u64, new_size: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        let expected_old = if old_size == 0 { empty_root() } else { *new_root };
        return if *old_root == expected_old { Ok(()) } else { Err(ProofError::OldRootMismatch) };
    }
    // Step 1: an empty path proves nothing between different sizes.
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::WrongLength);
    };
    // Step 2: when the old tree is a complete subtree, its root is the path's implicit first
    // node.
    let (start, path) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    // Steps 3 and 4.
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // Step 5: `old_computed` rebuilds the old root, `new_computed` the new one.
    let (mut old_computed, mut new_computed) = (*start, *start);
    // Step 6.
    for node in path {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            old_computed = node_hash(node, &old_computed);
            new_computed = node_hash(node, &new_computed);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            new_computed = node_hash(&new_computed, node);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7.
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if old_computed != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if new_computed != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The size of the left subtree of a tree of `size` ≥ 2 leaves: the largest power of two
/// below `size` (RFC 9162 §2.1.1).
fn split(size: usize) -> usize {
    size.next_power_of_two() / 2
}

/// PATH(m, D[n]) of RFC 9162 §2.1.3.1, appended to `proof`. Each level hashes the sibling
/// subtree once, and the siblings are disjoint, so the whole path costs O(n) hashes.
fn audit_path(index: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let (left, right) = leaves.split_at(split(leaves.len()));
    if index < left.len() {
        audit_path(index, left, proof);
        proof.push(root(right));
    } else {
        audit_path(index - left.len(), right, proof);
        proof.push(root(left));
    }
}

/// SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, appended to `proof`; `complete` is `b`, true
/// while the first `old` leaves are a subtree the verifier already knows by its root.
fn subproof(old: usize, leaves: &[Hash], complete: bool, proof: &mut Vec<Hash>) {
    if old == leaves.len() {
        if !complete {
            proof.push(root(leaves));
        }
        return;
    }
    let (left, right) = leaves.split_at(split(leaves.len()));
    if old <= left.len() {
        subproof(old, left, complete, proof);
        proof.push(root(right));
    } else {
        subproof(old - left.len(), right, false, proof);
        proof.push(root(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    fn hex(text: &str) -> Hash {
        let bytes: Vec<u8> = (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect();
        bytes.try_into().unwrap()
    }

    fn b64(text: &str) -> Hash {
        STANDARD.decode(text).unwrap().try_into().unwrap()
    }

    /// The eight leaves of the Certificate Transparency test tree, as kept in
    /// github.com/transparency-dev/merkle `testonly/constants.go` (`LeafInputs`; the same tree
    /// as certificate-transparency-go's and Trillian's tests).
    fn reference_leaves() -> Vec<Hash> {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        inputs.iter().map(|input| leaf_hash(input)).collect()
    }

    #[test]
    fn the_empty_tree_has_the_hash_of_the_empty_string_as_root() {
        assert_eq!(root(&[]), hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    #[test]
    fn leaf_hashes_and_roots_match_the_reference_vectors() {
        // transparency-dev/merkle testonly/constants.go, `NodeHashes()[0]` and `RootHashes()`
        // (commit 417fb0c).
        let leaves = reference_leaves();
        assert_eq!(leaves[0], hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
        assert_eq!(leaves[7], hex("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"));
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        for (size, expected) in roots.iter().enumerate() {
            assert_eq!(root(&leaves[..size]), hex(expected), "size {size}");
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference_vectors() {
        // transparency-dev/merkle testdata/inclusion/{0,1,2,3,4}/happy-path.json (commit 417fb0c).
        let leaves = reference_leaves();
        let cases: [(u64, usize, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
                    "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                    "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
                ],
            ),
            (
                5,
                8,
                &[
                    "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
                    "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                    "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
                ],
            ),
            (2, 3, &["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="]),
            (
                1,
                5,
                &[
                    "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
                    "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                    "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
                ],
            ),
        ];
        for (index, size, expected) in cases {
            let expected: Vec<Hash> = expected.iter().map(|hash| b64(hash)).collect();
            let tree = &leaves[..size];
            assert_eq!(inclusion_proof(tree, index), Ok(expected.clone()), "leaf {index} of {size}");
            let leaf = &leaves[index as usize];
            assert_eq!(verify_inclusion(leaf, index, size as u64, &expected, &root(tree)), Ok(()));
        }
    }

    #[test]
    fn consistency_proofs_match_the_reference_vectors() {
        // transparency-dev/merkle testdata/consistency/{0,1,2,3,4}/happy-path.json (commit 417fb0c).
        let leaves = reference_leaves();
        let cases: [(u64, usize, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
                    "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                    "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
                ],
            ),
            (
                6,
                8,
                &[
                    "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
                    "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                    "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
                ],
            ),
            (2, 5, &["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
            (
                6,
                7,
                &[
                    "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
                    "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
                    "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
                ],
            ),
        ];
        for (old_size, size, expected) in cases {
            let expected: Vec<Hash> = expected.iter().map(|hash| b64(hash)).collect();
            let tree = &leaves[..size];
            assert_eq!(consistency_proof(tree, old_size), Ok(expected.clone()), "{old_size} to {size}");
            let old_root = root(&leaves[..old_size as usize]);
            assert_eq!(verify_consistency(old_size, size as u64, &old_root, &root(tree), &expected), Ok(()));
        }
    }

    /// Leaves for the exhaustive checks: distinct, so a proof for one leaf fits no other.
    fn numbered_leaves(count: u64) -> Vec<Hash> {
        (0..count).map(|number| leaf_hash(format!("entry {number}").as_bytes())).collect()
    }

    /// Every proof with one bit flipped, for each of its hashes in turn.
    fn with_one_bit_flipped(proof: &[Hash]) -> impl Iterator<Item = Vec<Hash>> + '_ {
        (0..proof.len()).map(move |at| {
            let mut altered = proof.to_vec();
            altered[at][at % 32] ^= 1 << (at % 8);
            altered
        })
    }

    #[test]
    fn every_inclusion_proof_up_to_40_leaves_verifies_and_no_altered_one_does() {
        let all = numbered_leaves(42);
        let roots: Vec<Hash> = (0..=all.len()).map(|size| root(&all[..size])).collect();
        for size in 1..=40_u64 {
            let tree = &all[..size as usize];
            let tree_root = &roots[size as usize];
            for index in 0..size {
                let leaf = &tree[index as usize];
                let proof = inclusion_proof(tree, index).unwrap();
                assert_eq!(verify_inclusion(leaf, index, size, &proof, tree_root), Ok(()), "leaf {index} of {size}");
                for altered in with_one_bit_flipped(&proof) {
                    assert!(verify_inclusion(leaf, index, size, &altered, tree_root).is_err(), "flipped, leaf {index} of {size}");
                }
                for other_index in (0..size + 2).filter(|&other| other != index) {
                    assert!(
                        verify_inclusion(leaf, other_index, size, &proof, tree_root).is_err(),
                        "index {other_index} for {index} of {size}"
                    );
                }
                // Another size, with that tree's own root: a proof binds the size it was made for.
                for other_size in (1..=size + 2).filter(|&other| other != size) {
                    let other_root = &roots[other_size as usize];
                    assert!(
                        verify_inclusion(leaf, index, other_size, &proof, other_root).is_err(),
                        "size {other_size} for {index} of {size}"
                    );
                }
                let mut longer = proof.clone();
                longer.push(proof.first().copied().unwrap_or(*leaf));
                assert_eq!(verify_inclusion(leaf, index, size, &longer, tree_root), Err(ProofError::WrongLength));
                if let Some((_, shorter)) = proof.split_last() {
                    assert_eq!(verify_inclusion(leaf, index, size, shorter, tree_root), Err(ProofError::WrongLength));
                }
            }
            assert_eq!(inclusion_proof(tree, size), Err(ProofError::IndexOutOfRange { index: size, size }));
        }
    }

    #[test]
    fn every_consistency_proof_up_to_40_leaves_verifies_and_no_altered_one_does() {
        let all = numbered_leaves(42);
        let roots: Vec<Hash> = (0..=all.len()).map(|size| root(&all[..size])).collect();
        for new_size in 1..=40_u64 {
            let tree = &all[..new_size as usize];
            let new_root = &roots[new_size as usize];
            for old_size in 0..=new_size {
                let old_root = &roots[old_size as usize];
                let proof = consistency_proof(tree, old_size).unwrap();
                let case = format!("{old_size} to {new_size}");
                assert_eq!(verify_consistency(old_size, new_size, old_root, new_root, &proof), Ok(()), "{case}");
                for altered in with_one_bit_flipped(&proof) {
                    assert!(verify_consistency(old_size, new_size, old_root, new_root, &altered).is_err(), "flipped, {case}");
                }
                // Other sizes, each with its own tree's root. An empty proof rightly holds from
                // the empty tree and between equal sizes, whatever the sizes were meant to be.
                for other_old in (0..=new_size + 1).filter(|&other| other != old_size) {
                    if proof.is_empty() && (other_old == 0 || other_old == new_size) {
                        continue;
                    }
                    let other_root = &roots[other_old as usize];
                    let result = verify_consistency(other_old, new_size, other_root, new_root, &proof);
                    assert!(result.is_err(), "old size {other_old} for {case}");
                }
                for other_new in (1..=new_size + 2).filter(|&other| other != new_size && old_size != 0) {
                    let other_root = &roots[other_new as usize];
                    let result = verify_consistency(old_size, other_new, old_root, other_root, &proof);
                    assert!(result.is_err(), "new size {other_new} for {case}");
                }
                if 0 < old_size && old_size < new_size {
                    assert!(verify_consistency(old_size, new_size, old_root, new_root, &[]).is_err(), "empty, {case}");
                    assert!(verify_consistency(old_size, new_size, new_root, new_root, &proof).is_err(), "old root, {case}");
                    assert!(verify_consistency(old_size, new_size, old_root, old_root, &proof).is_err(), "new root, {case}");
                }
            }
            assert_eq!(consistency_proof(tree, new_size + 1), Err(ProofError::SizesOutOfOrder { old_size: new_size + 1, new_size }));
        }
    }

    #[test]
    fn equal_and_empty_old_trees_need_an_empty_proof_and_the_right_roots() {
        let leaves = numbered_leaves(3);
        let (empty, three) = (empty_root(), root(&leaves));
        assert_eq!(verify_consistency(0, 3, &empty, &three, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 3, &three, &three, &[]), Err(ProofError::OldRootMismatch));
        assert_eq!(verify_consistency(0, 3, &empty, &three, &[three]), Err(ProofError::WrongLength));
        assert_eq!(verify_consistency(3, 3, &three, &three, &[]), Ok(()));
        assert_eq!(verify_consistency(3, 3, &empty, &three, &[]), Err(ProofError::OldRootMismatch));
        assert_eq!(verify_consistency(3, 3, &three, &three, &[three]), Err(ProofError::WrongLength));
        assert_eq!(verify_consistency(3, 2, &three, &three, &[]), Err(ProofError::SizesOutOfOrder { old_size: 3, new_size: 2 }));
        assert_eq!(verify_inclusion(&leaves[0], 0, 0, &[], &empty), Err(ProofError::IndexOutOfRange { index: 0, size: 0 }));
    }
}
