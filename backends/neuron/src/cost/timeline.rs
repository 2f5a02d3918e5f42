//! The schedule as a picture: one row per engine, time in buckets, each
//! bucket marked by how much of it the engine is busy. Enough to see
//! whether DMA runs under compute or the engines take turns.

use std::fmt::Write;

use trnc_ir::kernel::Engine;

use super::schedule::{engine_index, ENGINES};

/// One executed instruction.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub engine: Engine,
    pub start_ns: f64,
    pub end_ns: f64,
    /// The NKI ISA name (`nc_matmul`, `dma_copy`, ...).
    pub name: &'static str,
    /// The statement's note in the kernel, if any.
    pub note: Option<String>,
}

/// Busy fraction of each of `buckets` equal time buckets, per engine.
fn coverage(entries: &[TimelineEntry], buckets: usize) -> (f64, Vec<Vec<f64>>) {
    let end = entries.iter().map(|e| e.end_ns).fold(0.0, f64::max);
    let mut rows = vec![vec![0.0; buckets]; ENGINES.len()];
    if end <= 0.0 || buckets == 0 {
        return (end, rows);
    }
    let width = end / buckets as f64;
    for e in entries {
        let row = &mut rows[engine_index(e.engine)];
        let first = ((e.start_ns / width) as usize).min(buckets - 1);
        let last = ((e.end_ns / width) as usize).min(buckets - 1);
        for (b, cell) in row.iter_mut().enumerate().take(last + 1).skip(first) {
            let lo = e.start_ns.max(b as f64 * width);
            let hi = e.end_ns.min((b + 1) as f64 * width);
            if hi > lo {
                *cell += (hi - lo) / width;
            }
        }
    }
    (end, rows)
}

fn time_text(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn glyph(busy: f64) -> char {
    match busy {
        b if b <= 0.0 => ' ',
        b if b < 0.25 => '.',
        b if b < 0.5 => ':',
        b if b < 0.75 => '=',
        _ => '#',
    }
}

/// A text Gantt chart `width` buckets wide: one row per engine that runs
/// anything; ` .:=#` = idle, <25%, <50%, <75%, busier. The last column is
/// each engine's total busy share.
pub fn render_timeline_text(entries: &[TimelineEntry], width: usize) -> String {
    let width = width.max(1);
    let (end, rows) = coverage(entries, width);
    let mut s = String::new();
    let _ = writeln!(s, "0 .. {} in {width} columns of {}", time_text(end), time_text(end / width as f64));
    for (i, row) in rows.iter().enumerate() {
        if !entries.iter().any(|e| engine_index(e.engine) == i) {
            continue;
        }
        let line: String = row.iter().map(|&b| glyph(b)).collect();
        let busy: f64 = row.iter().sum::<f64>() / width as f64;
        let _ = writeln!(s, "{:<7}|{line}| {:5.1}%", ENGINES[i].name(), 100.0 * busy);
    }
    s
}

/// The same chart as a standalone SVG, one pixel column per time bucket,
/// opacity = busy fraction.
pub fn render_timeline_svg(entries: &[TimelineEntry], width_px: usize) -> String {
    const ROW: usize = 24;
    const LABEL: usize = 60;
    let width_px = width_px.max(1);
    let (end, rows) = coverage(entries, width_px);
    let shown: Vec<usize> =
        (0..ENGINES.len()).filter(|&i| entries.iter().any(|e| engine_index(e.engine) == i)).collect();
    let height = ROW * (shown.len() + 1);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="monospace" font-size="12">"#,
        LABEL + width_px
    );
    for (r, &i) in shown.iter().enumerate() {
        let y = r * ROW;
        let _ = writeln!(s, r#"<text x="2" y="{}">{}</text>"#, y + 16, ENGINES[i].name());
        for (x, &b) in rows[i].iter().enumerate() {
            if b > 0.0 {
                let _ = writeln!(
                    s,
                    r##"<rect x="{}" y="{}" width="1" height="{}" fill="#1f5fbf" fill-opacity="{:.2}"/>"##,
                    LABEL + x,
                    y + 4,
                    ROW - 8,
                    b.min(1.0)
                );
            }
        }
    }
    let _ = writeln!(s, r#"<text x="{LABEL}" y="{}">0 .. {}</text>"#, shown.len() * ROW + 16, time_text(end));
    s.push_str("</svg>\n");
    s
}
