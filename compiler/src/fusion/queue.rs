//! Candidate merges, ranked as the planner takes them: most HBM bytes
//! saved first, then the lowest `into` group, then the lowest `from`.
//! A merge changes the saving and legality of the candidates touching the
//! two merged groups only (see `Planner::fuse_producers`), so the planner
//! drops those and prices them again instead of re-pricing every edge.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// A merge the planner may make, with the bytes it saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Candidate {
    pub saving: u64,
    pub from: usize,
    pub into: usize,
}

type Rank = (u64, Reverse<usize>, Reverse<usize>);

fn rank(c: Candidate) -> Rank {
    (c.saving, Reverse(c.into), Reverse(c.from))
}

#[derive(Default)]
pub(super) struct Queue {
    ranked: BTreeSet<Rank>,
    /// The candidate of each (from, into) pair; at most one per pair.
    by_pair: BTreeMap<(usize, usize), u64>,
    /// The pairs touching each group.
    touching: BTreeMap<usize, BTreeSet<(usize, usize)>>,
}

impl Queue {
    /// Adds `c`, replacing any candidate for the same pair.
    pub fn push(&mut self, c: Candidate) {
        if let Some(old) = self.by_pair.insert((c.from, c.into), c.saving) {
            self.ranked.remove(&rank(Candidate { saving: old, ..c }));
        }
        self.ranked.insert(rank(c));
        for g in [c.from, c.into] {
            self.touching.entry(g).or_default().insert((c.from, c.into));
        }
    }

    /// Removes and returns the best candidate.
    pub fn pop(&mut self) -> Option<Candidate> {
        let (saving, Reverse(into), Reverse(from)) = self.ranked.pop_last()?;
        self.forget(from, into);
        Some(Candidate { saving, from, into })
    }

    /// Drops every candidate that merges `g` or merges into it.
    pub fn drop_touching(&mut self, g: usize) {
        for (from, into) in self.touching.remove(&g).unwrap_or_default() {
            if let Some(saving) = self.by_pair.get(&(from, into)).copied() {
                self.ranked.remove(&rank(Candidate { saving, from, into }));
                self.forget(from, into);
            }
        }
    }

    fn forget(&mut self, from: usize, into: usize) {
        self.by_pair.remove(&(from, into));
        for g in [from, into] {
            if let Some(set) = self.touching.get_mut(&g) {
                set.remove(&(from, into));
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        debug_assert_eq!(self.ranked.len(), self.by_pair.len());
        self.ranked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::random::Rng;

    /// The planner's choice before the queue: the best of all candidates.
    fn best(all: &BTreeMap<(usize, usize), u64>) -> Option<Candidate> {
        all.iter()
            .map(|(&(from, into), &saving)| Candidate { saving, from, into })
            .max_by(|a, b| a.saving.cmp(&b.saving).then(b.into.cmp(&a.into)).then(b.from.cmp(&a.from)))
    }

    #[test]
    fn pops_what_a_full_scan_picks() {
        let mut rng = Rng::new(3);
        let mut q = Queue::default();
        let mut all: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for _ in 0..5000 {
            let (a, b) = (rng.below(12) as usize, rng.below(12) as usize);
            match rng.below(4) {
                0 | 1 if a != b => {
                    let saving = 1 + rng.below(5);
                    q.push(Candidate { saving, from: a, into: b });
                    all.insert((a, b), saving);
                }
                2 => {
                    q.drop_touching(a);
                    all.retain(|&(f, i), _| f != a && i != a);
                }
                _ => {
                    let expected = best(&all);
                    assert_eq!(q.pop(), expected);
                    if let Some(c) = expected {
                        all.remove(&(c.from, c.into));
                    }
                }
            }
            assert_eq!(q.len(), all.len());
        }
    }
}
