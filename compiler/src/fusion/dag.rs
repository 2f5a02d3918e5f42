//! The groups of a plan as a DAG that shrinks as groups merge: successor
//! and predecessor sets, and a topological order kept valid after every
//! merge. A path between two groups can only pass through groups ordered
//! between them, so a cycle check visits that range, not the whole graph:
//! what keeps planning linear in the depth of a model.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// The slot of a merged-away group in the order.
const DEAD: usize = usize::MAX;

pub(super) struct GroupDag {
    succ: Vec<BTreeSet<usize>>,
    pred: Vec<BTreeSet<usize>>,
    /// Position of each live group in `order`.
    pos: Vec<usize>,
    /// A topological order of the live groups, with `DEAD` slots.
    order: Vec<usize>,
}

impl GroupDag {
    /// `n` groups and their producer → consumer edges (no self-edges).
    pub fn new(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> GroupDag {
        let mut succ = vec![BTreeSet::new(); n];
        let mut pred = vec![BTreeSet::new(); n];
        for (p, c) in edges {
            if p != c && p < n && c < n {
                succ[p].insert(c);
                pred[c].insert(p);
            }
        }
        // Kahn's algorithm, lowest id first: groups are numbered in graph
        // order, so this is the identity on a well-formed graph.
        let mut indegree: Vec<usize> = pred.iter().map(BTreeSet::len).collect();
        let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(g)) = ready.pop() {
            order.push(g);
            for &s in &succ[g] {
                indegree[s] -= 1;
                if indegree[s] == 0 {
                    ready.push(Reverse(s));
                }
            }
        }
        // A cycle (impossible in a verified graph) leaves groups unplaced;
        // they go last so that every group has a position.
        if order.len() < n {
            let mut placed = vec![false; n];
            order.iter().for_each(|&g| placed[g] = true);
            order.extend((0..n).filter(|&g| !placed[g]));
        }
        let mut pos = vec![0; n];
        for (k, &g) in order.iter().enumerate() {
            pos[g] = k;
        }
        GroupDag { succ, pred, pos, order }
    }

    /// Groups reading a value of `g`, in increasing id.
    pub fn successors(&self, g: usize) -> &BTreeSet<usize> {
        &self.succ[g]
    }

    /// Groups whose values `g` reads, in increasing id.
    pub fn predecessors(&self, g: usize) -> &BTreeSet<usize> {
        &self.pred[g]
    }

    pub fn has_edge(&self, from: usize, to: usize) -> bool {
        self.succ[from].contains(&to)
    }

    /// A path from `from` to `to` through some third group, as the first
    /// group after `from` on it. Which path is reported is part of the
    /// plan's explanation, so the search is the depth-first one (highest
    /// successor first) over all groups; skipping the groups ordered after
    /// `to`, from which `to` is unreachable, does not change what it finds.
    pub fn indirect_path(&self, from: usize, to: usize) -> Option<usize> {
        let limit = self.pos[to];
        if self.pos[from] >= limit {
            return None;
        }
        let within = |s: usize| s == to || self.pos[s] < limit;
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(usize, usize)> =
            self.succ[from].iter().copied().filter(|&s| s != to && within(s)).map(|s| (s, s)).collect();
        while let Some((g, via)) = stack.pop() {
            if g == to {
                return Some(via);
            }
            if !seen.insert(g) {
                continue;
            }
            stack.extend(self.succ[g].iter().copied().filter(|&s| within(s)).map(|s| (s, via)));
        }
        None
    }

    /// Merges `from` into `into`. The caller has checked that no path
    /// joins them through a third group, so the merged group has a place
    /// in the order: after everything between them that leads to the
    /// later one, before everything that follows from the earlier one.
    pub fn merge(&mut self, from: usize, into: usize) {
        let (first, last) = if self.pos[from] < self.pos[into] { (from, into) } else { (into, from) };
        let (lo, hi) = (self.pos[first], self.pos[last]);
        let mut after: BTreeSet<usize> = BTreeSet::new();
        let mut stack: Vec<usize> = self.succ[first].iter().copied().filter(|&s| self.pos[s] < hi).collect();
        while let Some(g) = stack.pop() {
            if after.insert(g) {
                stack.extend(self.succ[g].iter().copied().filter(|&s| self.pos[s] < hi));
            }
        }
        let between: Vec<usize> = self.order[lo + 1..hi].iter().copied().filter(|&g| g != DEAD).collect();
        let mut slots = between.iter().filter(|g| !after.contains(g)).copied().collect::<Vec<_>>();
        slots.push(into);
        slots.extend(between.iter().filter(|g| after.contains(g)));
        slots.resize(hi - lo + 1, DEAD);
        for (k, &g) in slots.iter().enumerate() {
            self.order[lo + k] = g;
            if g != DEAD {
                self.pos[g] = lo + k;
            }
        }
        for s in std::mem::take(&mut self.succ[from]) {
            self.pred[s].remove(&from);
            if s != into {
                self.pred[s].insert(into);
                self.succ[into].insert(s);
            }
        }
        for p in std::mem::take(&mut self.pred[from]) {
            self.succ[p].remove(&from);
            if p != into {
                self.succ[p].insert(into);
                self.pred[into].insert(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::random::Rng;

    /// The search of the planner before it kept an order: every group.
    fn brute_path(succ: &[BTreeSet<usize>], from: usize, to: usize) -> Option<usize> {
        let mut seen = vec![false; succ.len()];
        let mut stack: Vec<(usize, usize)> = succ[from].iter().filter(|&&s| s != to).map(|&s| (s, s)).collect();
        while let Some((g, via)) = stack.pop() {
            if g == to {
                return Some(via);
            }
            if std::mem::replace(&mut seen[g], true) {
                continue;
            }
            stack.extend(succ[g].iter().map(|&s| (s, via)));
        }
        None
    }

    #[test]
    fn merges_keep_paths_and_order_exact() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let n = 2 + rng.below(14) as usize;
            let mut edges = Vec::new();
            for c in 1..n {
                for p in 0..c {
                    if rng.below(4) == 0 {
                        edges.push((p, c));
                    }
                }
            }
            let mut dag = GroupDag::new(n, edges.iter().copied());
            let mut group_of: Vec<usize> = (0..n).collect();
            let mut live: Vec<usize> = (0..n).collect();
            while live.len() > 1 {
                // The reference graph: the original edges between the
                // current groups.
                let mut succ = vec![BTreeSet::new(); n];
                for &(p, c) in &edges {
                    if group_of[p] != group_of[c] {
                        succ[group_of[p]].insert(group_of[c]);
                    }
                }
                for &a in &live {
                    assert_eq!(dag.succ[a], succ[a], "successors of {a}");
                    for &s in &succ[a] {
                        assert!(dag.pos[a] < dag.pos[s], "order puts {a} after its successor {s}");
                    }
                    for &b in &live {
                        if a != b {
                            assert_eq!(dag.indirect_path(a, b), brute_path(&succ, a, b), "path {a} -> {b}");
                        }
                    }
                }
                // Merge a random pair that no third group joins.
                let pairs: Vec<(usize, usize)> = live
                    .iter()
                    .flat_map(|&a| live.iter().map(move |&b| (a, b)))
                    .filter(|&(a, b)| a != b && brute_path(&succ, a, b).is_none() && brute_path(&succ, b, a).is_none())
                    .collect();
                if pairs.is_empty() {
                    break;
                }
                let (from, into) = pairs[rng.below(pairs.len() as u64) as usize];
                dag.merge(from, into);
                group_of.iter_mut().filter(|g| **g == from).for_each(|g| *g = into);
                live.retain(|&g| g != from);
            }
        }
    }
}
