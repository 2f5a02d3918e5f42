//! `history.svg`: the main figures across the result files of a folder,
//! oldest first. Top: the cost model's time on Trn2 for the headline
//! models; bottom: compile time, from the runs that measured it.

use crate::bench::results::Results;
use crate::Error;
use plotters::prelude::*;
use std::path::Path;

const ESTIMATED: &[&str] = &[
    "all_minilm_l6_v2",
    "minilm_encoder_x1",
    "gpt2_small_block",
    "attention_s2048",
    "rms_norm_swiglu",
    "mlp",
    "matmul_4096_bf16",
    "matmul_tutorial_bf16",
];
const COMPILED: &[&str] = &["all_minilm_l6_v2", "minilm_encoder_x1", "minilm_encoder_x6", "minilm_encoder_x24"];

/// Every result file in `dir` (`*.json` but the baseline), oldest first.
pub fn history(dir: &Path) -> Vec<Results> {
    let mut all: Vec<Results> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "json") && p.file_stem().is_some_and(|s| s != "baseline")
                })
                .filter_map(|p| Results::read(&p).ok())
                .collect()
        })
        .unwrap_or_default();
    all.sort_by(|a, b| (a.unix_time, &a.commit).cmp(&(b.unix_time, &b.commit)));
    all
}

/// One line: (run index, value) for the runs that have the figure.
type Series = (String, Vec<(f64, f64)>);

fn series(runs: &[Results], models: &[&str], value: &dyn Fn(&Results, &str) -> Option<f64>) -> Vec<Series> {
    models
        .iter()
        .map(|m| {
            let points = runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| value(r, m).filter(|v| *v > 0.0).map(|v| (i as f64, v)))
                .collect();
            (m.to_string(), points)
        })
        .filter(|(_, p): &Series| !p.is_empty())
        .collect()
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    y_label: &str,
    labels: &[String],
    lines: &[Series],
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let values = lines.iter().flat_map(|(_, p)| p.iter().map(|&(_, v)| v));
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lines.is_empty() || !lo.is_finite() {
        area.titled(&format!("{title}: no data yet"), ("sans-serif", 18)).map_err(err)?;
        return Ok(());
    }
    let x_max = (labels.len().max(2) - 1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        // Room for the last run's label, centred on the right edge.
        .margin_right(70)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.2..x_max + 0.2, (lo / 1.5..hi * 1.5).log_scale())
        .map_err(err)?;
    let label_of = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(labels.len().clamp(2, 12))
        .x_label_formatter(&label_of)
        .y_desc(y_label)
        .draw()
        .map_err(err)?;
    for (i, (name, points)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Draws the history of `runs` as an SVG file.
pub fn write_history_svg(runs: &[Results], path: &Path) -> Result<(), Error> {
    let labels: Vec<String> = runs.iter().map(|r| format!("{} {}", r.date, r.commit)).collect();
    let estimated = series(runs, ESTIMATED, &|r, m| r.figures(m, "trn2").map(|f| f.get("time_ns") / 1e6));
    let compiled =
        series(runs, COMPILED, &|r, m| r.wall_clock.as_ref().and_then(|w| w.get(m, "compile")).map(|s| s.median_ms));
    let draw = || -> Result<(), String> {
        let root = SVGBackend::new(path, (1100, 900)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let panels = root.split_evenly((2, 1));
        draw_panel(&panels[0], "Cost-model time on Trn2 per result file", "ms (log)", &labels, &estimated)?;
        draw_panel(&panels[1], "Compile time (median, trnc bench --wall-clock)", "ms (log)", &labels, &compiled)?;
        root.present().map_err(|e| e.to_string())
    };
    draw().map_err(|e| Error::run(format!("error: cannot draw {}: {e}", path.display())))
}
