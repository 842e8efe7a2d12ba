//! Proofs from the hashes of complete subtrees, as the trail stores them.
//!
//! A complete subtree (2^level leaves, aligned) never changes once its last leaf is appended, so
//! the trail stores each one's hash as it completes: about two per leaf. Every subtree an RFC 9162
//! proof names is a run of such complete subtrees (the set bits of its size, largest first) and
//! its hash is their right fold, so a proof needs O(log² n) stored hashes instead of every leaf,
//! and a root O(log n). Pure: the caller fetches the hashes a plan names.

use super::tree::{empty_root, node_hash, Hash, ProofError};

/// A complete subtree: the 2^`level` leaves from `index` · 2^`level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// The complete subtrees that make up the tree over leaves [`start`, `start` + `size`), largest
/// first. `start` must be a multiple of the first one's size, as it is for every subtree of an
/// RFC 9162 tree.
pub fn decompose(start: u64, size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let (mut at, mut left) = (start, size);
    while left > 0 {
        let level = 63 - left.leading_zeros();
        debug_assert_eq!(at % (1 << level), 0, "subtrees of an RFC 9162 tree are aligned");
        nodes.push(NodeId { level: level as u8, index: at >> level });
        at += 1 << level;
        left -= 1 << level;
    }
    nodes
}

/// The hash of a subtree from the hashes of the complete subtrees `decompose` lists for it.
pub fn fold(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else { return empty_root() };
    rest.iter().rev().fold(*last, |right, left| node_hash(left, &right))
}

/// The plan of a root: the complete subtrees of the whole tree.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    decompose(0, size)
}

/// The plan of leaf `index`'s inclusion proof in a tree of `size` leaves: proof hash i is the
/// fold of the hashes of plan item i (RFC 9162 §2.1.3.1, nearest sibling first).
pub fn inclusion_plan(index: u64, size: u64) -> Result<Vec<Vec<NodeId>>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut plan = Vec::new();
    path(index, 0, size, &mut plan);
    Ok(plan)
}

fn path(m: u64, start: u64, n: u64, plan: &mut Vec<Vec<NodeId>>) {
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, k, plan);
        plan.push(decompose(start + k, n - k));
    } else {
        path(m - k, start + k, n - k, plan);
        plan.push(decompose(start, k));
    }
}

/// The plan of the consistency proof from the first `old_size` leaves to `new_size` (RFC 9162
/// §2.1.4.1); empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_plan(old_size: u64, new_size: u64) -> Result<Vec<Vec<NodeId>>, ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    let mut plan = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(old_size, 0, new_size, true, &mut plan);
    }
    Ok(plan)
}

fn subproof(m: u64, start: u64, n: u64, whole_old_tree: bool, plan: &mut Vec<Vec<NodeId>>) {
    if m == n {
        if !whole_old_tree {
            plan.push(decompose(start, n));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, k, whole_old_tree, plan);
        plan.push(decompose(start + k, n - k));
    } else {
        subproof(m - k, start + k, n - k, false, plan);
        plan.push(decompose(start, k));
    }
}

/// The largest power of two below `n` (n ≥ 2): where RFC 9162 splits a tree.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The right edge of a tree being appended to: its complete subtrees (one per set bit of its
/// size, largest first). Appending a leaf yields every complete subtree it completes, to store.
#[derive(Debug, Clone)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, Hash)>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves, from the hashes of `root_plan(size)`, in order.
    pub fn new(size: u64, hashes: &[Hash]) -> Option<Self> {
        let plan = root_plan(size);
        (plan.len() == hashes.len()).then(|| Self { size, nodes: plan.into_iter().zip(hashes.iter().copied()).collect() })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the complete subtrees it completes, the leaf itself first.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut node = (NodeId { level: 0, index: self.size }, leaf);
        let mut completed = vec![node];
        while let Some(&(left_id, left_hash)) = self.nodes.last() {
            if left_id.level != node.0.level {
                break;
            }
            self.nodes.pop();
            node = (NodeId { level: left_id.level + 1, index: left_id.index / 2 }, node_hash(&left_hash, &node.1));
            completed.push(node);
        }
        self.nodes.push(node);
        self.size += 1;
        completed
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        fold(&self.nodes.iter().map(|(_, h)| *h).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::audit::tree::{consistency_proof, inclusion_proof, leaf_hash, root};

    /// Leaves 0..n and every complete subtree's hash, built by appending.
    fn grown(n: u64) -> (Vec<Hash>, HashMap<NodeId, Hash>, Frontier) {
        let mut frontier = Frontier::new(0, &[]).expect("the empty tree");
        let mut stored = HashMap::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let leaf = leaf_hash(format!("запис {i}").as_bytes());
            leaves.push(leaf);
            stored.extend(frontier.push(leaf));
        }
        (leaves, stored, frontier)
    }

    fn proof_from(plan: &[Vec<NodeId>], stored: &HashMap<NodeId, Hash>) -> Vec<Hash> {
        plan.iter().map(|item| fold(&item.iter().map(|id| stored[id]).collect::<Vec<_>>())).collect()
    }

    #[test]
    fn proofs_from_stored_subtrees_equal_proofs_from_every_leaf() {
        let (leaves, stored, _) = grown(70);
        for size in 1..=70u64 {
            let prefix = &leaves[..size as usize];
            let plan = root_plan(size);
            assert_eq!(fold(&plan.iter().map(|id| stored[id]).collect::<Vec<_>>()), root(prefix), "root of {size}");
            for index in 0..size {
                let plan = inclusion_plan(index, size).unwrap();
                assert_eq!(proof_from(&plan, &stored), inclusion_proof(prefix, index).unwrap(), "leaf {index} of {size}");
            }
            for old in 0..=size {
                let plan = consistency_plan(old, size).unwrap();
                assert_eq!(proof_from(&plan, &stored), consistency_proof(prefix, old).unwrap(), "{old} → {size}");
            }
        }
    }

    #[test]
    fn the_frontier_keeps_the_root_and_stores_about_two_hashes_a_leaf() {
        let (leaves, stored, frontier) = grown(1000);
        assert_eq!(frontier.root(), root(&leaves));
        // Every aligned complete subtree inside 1000 leaves: 1000 + 500 + 250 + … + 1, under 2n.
        let complete: u64 = (0..10).map(|level| 1000 >> level).sum();
        assert_eq!(stored.len() as u64, complete);
        assert_eq!(complete, 1994);
        // A frontier reloaded from stored hashes goes on exactly as the one that never stopped.
        let reloaded = root_plan(1000).iter().map(|id| stored[id]).collect::<Vec<_>>();
        let mut resumed = Frontier::new(1000, &reloaded).expect("a frontier");
        let mut original = frontier;
        let next = leaf_hash(b"next");
        assert_eq!(resumed.push(next), original.push(next));
        assert_eq!(resumed.root(), original.root());
        assert!(Frontier::new(1000, &reloaded[1..]).is_none(), "the wrong number of hashes");
    }

    #[test]
    fn out_of_range_plans_are_refused() {
        assert_eq!(inclusion_plan(5, 5), Err(ProofError::IndexOutOfRange { index: 5, size: 5 }));
        assert_eq!(consistency_plan(6, 5), Err(ProofError::SizesOutOfOrder { old_size: 6, new_size: 5 }));
        assert_eq!(fold(&[]), empty_root());
    }
}
