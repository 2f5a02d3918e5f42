//! The incremental planner against the greedy loop it replaced, which
//! priced every candidate again after every merge and searched the whole
//! group graph for cycles: both must merge the same groups in the same
//! order, on every model of the corpus, the zoo and the ONNX tests.

use super::*;
use crate::load::{load_model, LoadOptions};
use crate::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use std::path::{Path, PathBuf};

/// Successors recomputed from the members.
fn successors(p: &Planner, gid: usize) -> Vec<usize> {
    let mut out: Vec<usize> = p.members[gid]
        .iter()
        .flat_map(|&i| p.readers[p.g.nodes[i].output.index()].iter())
        .map(|&r| p.group_of[r])
        .filter(|&h| h != gid)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn reaches_through_third(p: &Planner, from: usize, to: usize) -> bool {
    let mut seen = vec![false; p.members.len()];
    let mut stack: Vec<usize> = successors(p, from).into_iter().filter(|&s| s != to).collect();
    while let Some(gid) = stack.pop() {
        if gid == to {
            return true;
        }
        if !std::mem::replace(&mut seen[gid], true) {
            stack.extend(successors(p, gid));
        }
    }
    false
}

fn best(candidates: Vec<Candidate>) -> Option<Candidate> {
    candidates
        .into_iter()
        .filter(|c| c.saving > 0)
        .max_by(|a, b| a.saving.cmp(&b.saving).then(b.into.cmp(&a.into)).then(b.from.cmp(&a.from)))
}

/// Every merge the old loop made, in order.
fn full_rescan(p: &mut Planner) -> Vec<(usize, usize)> {
    let mut merges = Vec::new();
    loop {
        let live: Vec<usize> = (0..p.members.len()).filter(|&i| !p.members[i].is_empty()).collect();
        let candidates = live
            .iter()
            .flat_map(|&a| successors(p, a).into_iter().map(move |c| (a, c)))
            .filter(|&(a, c)| !reaches_through_third(p, a, c) && p.refuse_kernel(a, c).is_none())
            .map(|(a, c)| Candidate { saving: p.saving(a, c), from: a, into: c })
            .collect();
        let Some(c) = best(candidates) else { break };
        p.merge(c.from, c.into);
        merges.push((c.from, c.into));
    }
    loop {
        let mut candidates = Vec::new();
        let live: Vec<usize> = (0..p.members.len()).filter(|&i| !p.members[i].is_empty()).collect();
        for (k, &a) in live.iter().enumerate() {
            for &b in &live[k + 1..] {
                let (ins_a, ins_b) = (p.shared_inputs(a), p.shared_inputs(b));
                let saving: u64 = ins_a.iter().filter(|v| ins_b.contains(v)).map(|&v| value_bytes(p.g, v)).sum();
                let joined = successors(p, a).contains(&b)
                    || successors(p, b).contains(&a)
                    || reaches_through_third(p, a, b)
                    || reaches_through_third(p, b, a);
                if saving > 0 && !joined && p.kernel_problem(&p.union(a, b)).is_none() {
                    candidates.push(Candidate { saving, from: b, into: a });
                }
            }
        }
        let Some(c) = best(candidates) else { break };
        p.merge(c.from, c.into);
        merges.push((c.from, c.into));
    }
    merges
}

fn models() -> Vec<(PathBuf, LoadOptions)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in ["tests/corpus", "tests/fusion", "tests/kernels", "tests/kernels/small", "bench-results/models"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|e| e == "trn"))
            // The brute force takes seconds on 24 layers; 6 show the same.
            .filter(|f| !f.ends_with("minilm_encoder_x24.trn"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (f, LoadOptions::default())));
    }
    out.push((root.join("tests/models/gpt2_block.onnx"), LoadOptions::default()));
    let mut bert = LoadOptions::default();
    bert.dims.insert("batch".into(), 1);
    bert.dims.insert("sequence".into(), 128);
    out.push((root.join("tests/models/bert_encoder_layer.onnx"), bert));
    out
}

#[test]
fn incremental_planner_merges_what_a_full_rescan_merges() {
    let mut checked = 0;
    for (file, options) in models() {
        // Files that need --dim or hold deliberate errors are not plans.
        let Ok(mut g) = load_model(&file, &options) else { continue };
        run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {}).unwrap();
        crate::passes::narrow_i64(&mut g).unwrap();
        for target in [Target::Trn1, Target::Trn2, Target::Trn3] {
            let mut slow = Planner::new(&g, target);
            let expected = full_rescan(&mut slow);
            let mut fast = Planner::new(&g, target);
            fast.fuse_producers();
            fast.fuse_siblings();
            assert_eq!(fast.members, slow.members, "{} on {target}: merges {expected:?}", file.display());
            let (a, b) = (fast.finish(), slow.finish());
            assert_eq!(format!("{:?}", a.refusals), format!("{:?}", b.refusals), "{}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 3 * 20, "only {checked} plans compared");
}
