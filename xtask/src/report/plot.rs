//! SVG plots, drawn in Rust with plotters: per-job overhead vs workers,
//! makespan / ideal per workload, and the end-to-end latency CDF of each
//! traced workload. Every backend has one fixed color in all of them, and
//! every axis says its unit.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use plotters::coord::ranged1d::AsRangedCoord;
use plotters::prelude::*;

use super::{Exporter, Results};
use crate::program::Program;
use crate::workload::Family;

/// The plot exporter.
pub struct Plots;

const SIZE: (u32, u32) = (900, 540);

/// A point with its interval: (x, lo, median, hi).
type Point = (f64, f64, f64, f64);

fn color(b: Program) -> RGBColor {
    let (r, g, bl) = b.rgb();
    RGBColor(r, g, bl)
}

/// Workloads with a traced run that produced latencies.
pub fn latency_workloads(r: &Results) -> Vec<Family> {
    let mut w: Vec<Family> =
        r.traces.iter().filter(|t| t.failure.is_none() && !t.end_to_end_cdf.is_empty()).map(|t| t.workload).collect();
    w.dedup();
    w
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("could not draw a plot: {e}")
}

/// Draws one plot in the frame every plot shares (size, white page,
/// caption font, margins, axis label areas, legend box) into an SVG
/// string: axes over `x` and `y`, `draw` adds the mesh and the labelled
/// series, the legend goes at `legend_at`.
fn svg<X, Y>(
    caption: &str,
    x: X,
    y: Y,
    legend_at: SeriesLabelPosition,
    draw: impl FnOnce(&mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X::CoordDescType, Y::CoordDescType>>) -> Result<()>,
) -> Result<String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        draw(&mut chart)?;
        legend(&mut chart, legend_at)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Per-job overhead (ns) against workers, one line per backend, min–max bars.
pub fn overhead(r: &Results) -> Result<String> {
    let cells: Vec<_> = r.cells.iter().filter(|c| c.workload == Family::Overhead).collect();
    let mut series: Vec<(Program, Vec<Point>)> = Vec::new();
    for b in Program::all() {
        let pts: Vec<_> = cells
            .iter()
            .filter_map(|c| {
                let st = c.backends.iter().find(|x| x.backend == b)?.stats.as_ref()?;
                Some((f64::from(c.workers), st.overhead_ns.lo, st.overhead_ns.median, st.overhead_ns.hi))
            })
            .collect();
        if !pts.is_empty() {
            series.push((b, pts));
        }
    }
    let xmax = cells.iter().map(|c| f64::from(c.workers)).fold(1.0, f64::max);
    // A log axis: the tuned flavors' ~1 ns and the textbook forms' hundreds
    // both stay readable (on a linear one the former lie on the floor).
    let (ymin, ymax) = overhead_range(series.iter().flat_map(|(_, p)| p.iter().flat_map(|p| [p.1, p.3])));
    let jobs = cells.first().map_or(0, |c| c.jobs);
    let caption = format!("Per-job overhead, noop × {jobs} jobs (median, min–max bars; log scale)");
    svg(&caption, 0.5f64..xmax + 0.5, (ymin..ymax).log_scale(), SeriesLabelPosition::UpperLeft, |chart| {
        chart
            .configure_mesh()
            .x_desc("workers (count)")
            .y_desc("overhead per job (ns)")
            .x_labels(cells.len().max(2) * 2)
            .x_label_formatter(&|x| if (x.round() - x).abs() < 1e-9 { format!("{x:.0}") } else { String::new() })
            .draw()
            .map_err(err)?;
        for (b, pts) in &series {
            let c = color(*b);
            if b.is_baseline() {
                // One thread, no pool: a reference level across the plot.
                let y = pts[0].2.max(ymin);
                chart
                    .draw_series(LineSeries::new(vec![(0.5, y), (xmax + 0.5, y)], c.stroke_width(1)))
                    .map_err(err)?
                    .label(format!("{} (1 thread, no pool)", b.name()))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
                continue;
            }
            let pts: Vec<Point> = pts.iter().map(|p| (p.0, p.1.max(ymin), p.2.max(ymin), p.3.max(ymin))).collect();
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.2)), c.stroke_width(2)))
                .map_err(err)?
                .label(b.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.2), 4, c.filled()))).map_err(err)?;
            chart.draw_series(pts.iter().map(|p| ErrorBar::new_vertical(p.0, p.1, p.2, p.3, c, 8))).map_err(err)?;
        }
        Ok(())
    })
}

/// The log axis's range for per-job overheads: a decade boundary at or
/// below the smallest positive value (0.1 ns at the least: a figure can be
/// zero or negative, a run faster than its ideal) and above the largest.
fn overhead_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (if v > 0.0 { lo.min(v) } else { lo }, hi.max(v)));
    let lo = if lo.is_finite() { 10f64.powf(lo.log10().floor()).max(0.1) } else { 0.1 };
    let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
    (lo, hi)
}

/// Draws the legend, one entry per backend, at `position`.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, position: SeriesLabelPosition) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

/// Ticks for a log-scale ratio axis from 1 to `max`: 1, 1.1, 1.25, 1.5, 2,
/// 3, 5, 10, 20, 50, … as far as needed.
fn ratio_ticks(max: f64) -> Vec<f64> {
    let mut ticks = vec![1.0, 1.1, 1.25, 1.5];
    let mut decade = 1.0;
    while decade <= max {
        ticks.extend([2.0, 3.0, 5.0, 10.0].map(|t| t * decade));
        decade *= 10.0;
    }
    ticks.retain(|&t| t <= max);
    ticks
}

/// Makespan / ideal of every cell with a non-zero ideal, per backend.
pub fn makespan_ideal(r: &Results) -> Result<String> {
    let cells: Vec<_> = r.cells.iter().filter(|c| c.ideal_s > 0.0).collect();
    let labels: Vec<String> = cells.iter().map(|c| format!("{} {}x{}", c.workload.name(), c.workers, c.jobs)).collect();
    let pools: Vec<Program> = Program::all().filter(|b| !b.is_baseline()).collect();
    let width = 0.6 / pools.len() as f64;
    let mut pts: Vec<(Program, f64, f64, f64, f64)> = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        for (k, &b) in pools.iter().enumerate() {
            let Some(q) =
                c.backends.iter().find(|x| x.backend == b).and_then(|x| x.stats.as_ref()?.makespan_over_ideal)
            else {
                continue;
            };
            let x = i as f64 + (k as f64 - (pools.len() as f64 - 1.0) / 2.0) * width;
            pts.push((b, x, q.lo, q.median, q.hi));
        }
    }
    let ymax = pts.iter().map(|p| p.4).fold(1.2, f64::max) * 1.05;
    svg(
        "Makespan / ideal per workload (1 = the lower bound; median, min–max bars; log scale)",
        -0.5f64..cells.len().max(1) as f64 - 0.5,
        (0.9f64..ymax).log_scale().with_key_points(ratio_ticks(ymax)),
        SeriesLabelPosition::UpperLeft,
        |chart| {
            chart
                .configure_mesh()
                .x_desc("workload (workers x jobs)")
                .y_desc("makespan / ideal (ratio, log scale)")
                .y_label_formatter(&|v| format!("{v:.2}"))
                .x_labels(cells.len().max(1) * 2 + 1)
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (i - x).abs() < 1e-9 && i >= 0.0 {
                        labels.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .draw()
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(vec![(-0.5, 1.0), (cells.len() as f64 - 0.5, 1.0)], BLACK.stroke_width(1)))
                .map_err(err)?;
            for &b in &pools {
                let c = color(b);
                let mine: Vec<_> = pts.iter().filter(|p| p.0 == b).collect();
                if mine.is_empty() {
                    continue;
                }
                chart
                    .draw_series(mine.iter().map(|p| Circle::new((p.1, p.3), 5, c.filled())))
                    .map_err(err)?
                    .label(b.name())
                    .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
                chart
                    .draw_series(mine.iter().map(|p| ErrorBar::new_vertical(p.1, p.2, p.3, p.4, c, 8)))
                    .map_err(err)?;
            }
            Ok(())
        },
    )
}

/// End-to-end latency CDF of the traced runs of `workload`, per backend.
pub fn latency(r: &Results, workload: Family) -> Result<String> {
    let traces: Vec<_> = r
        .traces
        .iter()
        .filter(|t| t.workload == workload && t.failure.is_none() && !t.end_to_end_cdf.is_empty())
        .collect();
    let xmax = traces.iter().flat_map(|t| t.end_to_end_cdf.iter().map(|p| p.0 as f64 / 1e3)).fold(0.001, f64::max);
    let what =
        traces.first().map(|t| format!("{} × {} jobs, {} workers", t.spec, t.jobs, t.workers)).unwrap_or_default();
    svg(
        &format!("End-to-end latency CDF, {what} (traced)"),
        0f64..xmax * 1.02,
        0f64..1.0,
        SeriesLabelPosition::LowerRight,
        |chart| {
            chart
                .configure_mesh()
                .x_desc("end-to-end latency: finish time since pool start (ms)")
                .y_desc("fraction of jobs done (0–1)")
                .draw()
                .map_err(err)?;
            for t in &traces {
                let c = color(t.backend);
                let mut pts = vec![(0.0, 0.0)];
                pts.extend(t.end_to_end_cdf.iter().map(|&(us, q)| (us as f64 / 1e3, q)));
                chart
                    .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                    .map_err(err)?
                    .label(t.backend.name())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            }
            Ok(())
        },
    )
}

/// The job shapes the arrivals family ran, in order.
pub fn arrival_shapes(r: &Results) -> Vec<String> {
    let mut specs: Vec<String> =
        r.cells.iter().filter(|c| c.workload == Family::Arrivals).map(|c| c.spec.clone()).collect();
    specs.dedup();
    specs
}

/// The file an arrivals plot goes to: `arrivals-spin-20us.svg`.
pub fn arrivals_file(spec: &str) -> String {
    let name: String = spec.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("arrivals-{name}.svg")
}

/// p99 latency from arrival against offered load, both log axes, one line
/// per program, for the arrivals family's cells of `spec`.
pub fn arrivals(r: &Results, spec: &str) -> Result<String> {
    let cells: Vec<_> = r.cells.iter().filter(|c| c.workload == Family::Arrivals && c.spec == spec).collect();
    let rate = |c: &crate::results::CellResult| crate::findings::arrivals::rate(c).unwrap_or(1) as f64;
    let mut series: Vec<(Program, Vec<(f64, f64)>)> = Vec::new();
    for b in Program::all() {
        let pts: Vec<(f64, f64)> = cells
            .iter()
            .filter_map(|c| {
                let l = c.backends.iter().find(|x| x.backend == b)?.stats.as_ref()?.latency_us?;
                Some((rate(c), l[1].median.max(1.0)))
            })
            .collect();
        if !pts.is_empty() {
            series.push((b, pts));
        }
    }
    let (xlo, xhi) = cells.iter().map(|c| rate(c)).fold((f64::INFINITY, 1.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (ylo, yhi) = overhead_range(series.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)));
    let caption = format!("p99 latency from arrival against offered load, {spec}, 2 workers (log scales)");
    let x = (xlo.min(xhi) / 1.5)..(xhi * 1.5);
    svg(&caption, x.log_scale(), (ylo..yhi).log_scale(), SeriesLabelPosition::UpperLeft, |chart| {
        chart
            .configure_mesh()
            .x_desc("offered load (jobs/s)")
            .y_desc("p99 latency (µs)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(err)?;
        for (b, pts) in &series {
            let c = color(*b);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(b.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled()))).map_err(err)?;
        }
        Ok(())
    })
}

impl Exporter for Plots {
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = vec![
            super::write(dir, "overhead.svg", overhead(results)?.as_bytes())?,
            super::write(dir, "makespan-ideal.svg", makespan_ideal(results)?.as_bytes())?,
        ];
        for w in latency_workloads(results) {
            written.push(super::write(dir, &format!("latency-{}.svg", w.name()), latency(results, w)?.as_bytes())?);
        }
        for spec in arrival_shapes(results) {
            written.push(super::write(dir, &arrivals_file(&spec), arrivals(results, &spec)?.as_bytes())?);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_results;
    use super::*;

    #[test]
    fn ratio_ticks_cover_the_range_and_stop_at_max() {
        assert_eq!(ratio_ticks(1.2), vec![1.0, 1.1]);
        assert_eq!(ratio_ticks(4.0), vec![1.0, 1.1, 1.25, 1.5, 2.0, 3.0]);
        assert_eq!(ratio_ticks(60.0), vec![1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0]);
    }

    #[test]
    fn plots_label_axes_with_units_and_use_the_backends_colors() {
        let r = sample_results();
        let svg = overhead(&r).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("overhead per job (ns)") && svg.contains("workers (count)"));
        assert!(svg.contains("#1F77B4") || svg.contains("#1f77b4"), "crossbeam's blue, the first backend's");
        let svg = makespan_ideal(&r).unwrap();
        assert!(svg.contains("makespan / ideal (ratio, log scale)") && svg.contains("cpu 2x10000"));
        let svg = latency(&r, Family::Overhead).unwrap();
        assert!(svg.contains("(ms)") && svg.contains("fraction of jobs done"));
        assert_eq!(latency_workloads(&r), [Family::Overhead]);
    }

    #[test]
    fn overhead_axis_is_logarithmic_over_whole_decades() {
        assert_eq!(overhead_range([1.2, 245.0, 3.0].into_iter()), (1.0, 1000.0));
        assert_eq!(overhead_range([0.004, 0.5].into_iter()), (0.1, 1.0), "floored at 0.1 ns");
        assert_eq!(overhead_range([-3.0, 0.0, 40.0].into_iter()), (10.0, 100.0), "non-positive figures ignored");
        assert_eq!(overhead_range(std::iter::empty()), (0.1, 1.0));
        assert!(overhead(&sample_results()).unwrap().contains("log scale"));
    }

    #[test]
    fn the_legend_names_each_program_once() {
        use crate::report::tests::{backend, cell};
        let mut r = sample_results();
        let seq = backend(Program::known("sequential"), 1, 0.0, &[0.002; 3]);
        let bare = backend(Program::known("bare-loop"), 1, 0.0, &[0.0001; 3]);
        r.cells.push(cell(Family::Overhead, "noop", 1, 1_000_000, 0.0, vec![seq, bare]));
        let svg = overhead(&r).unwrap();
        for name in ["sequential", "bare-loop"] {
            assert_eq!(svg.matches(&format!("{name} (1 thread, no pool)")).count(), 1, "{name}: {svg}");
        }
    }
}
