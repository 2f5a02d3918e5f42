//! The timeline and its renderings.

use trnc_backend_neuron::cost::calibration::{self, Shape};
use trnc_backend_neuron::cost::{estimate, render_timeline_svg, render_timeline_text, timeline, ENGINES};
use trnc_ir::Target;

/// One block of each dimension of the optimised tutorial kernel.
const SMALL: Shape = Shape { m: 2048, k: 1024, n: 2048 };

#[test]
fn timeline_matches_the_estimate() {
    let k = calibration::block_k(SMALL);
    let t = timeline(&k, Target::Trn1);
    let e = estimate(&k, Target::Trn1);
    assert_eq!(t.len() as u64, e.instructions);
    for engine in ENGINES {
        let mine: Vec<_> = t.iter().filter(|x| x.engine == engine).collect();
        let busy: f64 = mine.iter().map(|x| x.end_ns - x.start_ns).sum();
        assert!((busy - e.busy_ns(engine)).abs() < 1e-3 * busy.max(1.0), "{engine:?}");
        // One engine never runs two instructions at once.
        let mut spans: Vec<(f64, f64)> = mine.iter().map(|x| (x.start_ns, x.end_ns)).collect();
        spans.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for w in spans.windows(2) {
            assert!(w[1].0 >= w[0].1 - 1e-9, "{engine:?} overlaps itself: {w:?}");
        }
    }
    let end = t.iter().map(|x| x.end_ns).fold(0.0, f64::max);
    assert!(end <= e.total_ns && e.total_ns <= end + 1300.0 + 1e-6);
}

#[test]
fn text_gantt_of_the_small_blocked_matmul() {
    let k = calibration::block_k(SMALL);
    let gantt = render_timeline_text(&timeline(&k, Target::Trn1), 72);
    insta::assert_snapshot!(gantt);
}

#[test]
fn text_gantt_shows_the_tutorial_versions() {
    // Memory-bound versions keep DMA busy and TensorE mostly idle; the
    // optimised one is the reverse.
    for (name, k) in calibration::all(calibration::TUTORIAL) {
        let gantt = render_timeline_text(&timeline(&k, Target::Trn1), 100);
        println!("{name}\n{gantt}");
        let row = |engine: &str| gantt.lines().find(|l| l.starts_with(engine)).unwrap().to_string();
        let busy = |line: String| line.matches('#').count();
        if name == "block_k" {
            assert!(busy(row("tensor")) > 80, "{gantt}");
        } else {
            assert!(busy(row("dma")) > 90 && busy(row("tensor")) < 10, "{gantt}");
        }
    }
}

#[test]
fn svg_has_one_row_per_engine() {
    let k = calibration::tiled(SMALL);
    let svg = render_timeline_svg(&timeline(&k, Target::Trn1), 400);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for engine in ["tensor", "vector", "dma"] {
        assert!(svg.contains(&format!(">{engine}</text>")), "{engine}");
    }
}

#[test]
fn empty_timeline_renders() {
    assert_eq!(render_timeline_text(&[], 10), "0 .. 0.0 ns in 10 columns of 0.0 ns\n");
}
