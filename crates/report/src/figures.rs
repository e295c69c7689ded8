//! Plots as SVG text (plotters' SVG backend, which escapes every label it writes).

use plotters::prelude::*;

use crate::error::{ReportError, Result};

/// Colours of the lines, one per configuration (Tableau 10, readable on white and in print).
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const SIZE: (u32, u32) = (640, 420);

/// One point of a line with the band drawn around it (e.g. the range over seeds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandPoint {
    /// Abscissa.
    pub x: f64,
    /// The line's value (a mean over seeds).
    pub y: f64,
    /// Lower edge of the band.
    pub low: f64,
    /// Upper edge of the band.
    pub high: f64,
}

/// A line of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Colour index (the configuration's number keeps its colour across panels).
    pub colour: usize,
    /// Dashed (training curves) or solid (test curves).
    pub dashed: bool,
    /// Its points in x order.
    pub points: Vec<BandPoint>,
}

/// A panel: lines with bands, and loose points (one per run) for scatter plots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Panel {
    /// Caption above the plot.
    pub title: String,
    /// Name of the x axis.
    pub x_label: String,
    /// Name of the y axis.
    pub y_label: String,
    /// Whether x values are log10 of the quantity (ticks then show the quantity).
    pub log_x: bool,
    /// Whether x only takes whole values (epochs, blocks): ticks between them stay unlabelled.
    pub whole_x: bool,
    /// Lines with bands.
    pub lines: Vec<Line>,
    /// Single points `(x, y, colour)`.
    pub points: Vec<(f64, f64, usize)>,
}

fn colour(index: usize) -> RGBColor {
    COLOURS[index % COLOURS.len()]
}

/// `[min, max]` padded by 5% so that nothing sits on the frame; widened when empty or flat.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if min > max {
        return (0.0, 1.0);
    }
    let pad = if max > min { (max - min) * 0.05 } else { (min.abs() * 0.05).max(0.5) };
    (min - pad, max + pad)
}

fn plot_error(name: &str, error: impl std::fmt::Display) -> ReportError {
    ReportError::Plot { name: name.into(), message: error.to_string() }
}

/// A tick label: the quantity itself on a log axis (`x` is its log10), and whole numbers only on a
/// linear one whose values are whole (epochs, blocks): no tick reads "2.5 epochs".
fn tick(x: f64, log_x: bool) -> String {
    let value = if log_x { 10f64.powf(x) } else { x };
    if value != 0.0 && (value.abs() >= 1e4 || value.abs() < 1e-3) {
        return format!("{value:.2e}");
    }
    // Three significant digits: 3.16, 31.6, 316 on a log axis; 0.999 or 0.0005 on a linear one.
    if value == 0.0 {
        return "0".to_owned();
    }
    let decimals = (2 - value.abs().log10().floor().clamp(-10.0, 10.0) as i32).clamp(0, 4) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

impl Panel {
    /// Draws the panel as a standalone SVG document.
    pub fn to_svg(&self) -> Result<String> {
        let mut svg = String::new();
        self.draw(&mut svg).map_err(|e| plot_error(&self.title, e))?;
        Ok(svg)
    }

    fn draw(&self, svg: &mut String) -> std::result::Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let xs = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.x))
            .chain(self.points.iter().map(|p| p.0));
        let ys = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().flat_map(|p| [p.y, p.low, p.high]))
            .chain(self.points.iter().map(|p| p.1));
        let (x0, x1) = range(xs);
        let (y0, y1) = range(ys);
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let log_x = self.log_x;
        let whole_x = self.whole_x;
        let x_format =
            move |x: &f64| if whole_x && x.fract() != 0.0 { String::new() } else { tick(*x, log_x) };
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(8)
            .x_label_formatter(&x_format)
            .y_label_formatter(&|y: &f64| format!("{y:.4}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for line in &self.lines {
            let c = colour(line.colour);
            let banded = line.points.iter().any(|p| p.high > p.low);
            if banded && line.points.len() > 1 {
                let outline: Vec<(f64, f64)> = line
                    .points
                    .iter()
                    .map(|p| (p.x, p.high))
                    .chain(line.points.iter().rev().map(|p| (p.x, p.low)))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(
                    outline,
                    c.mix(if line.dashed { 0.08 } else { 0.18 }),
                )))?;
            }
            let xy: Vec<(f64, f64)> = line.points.iter().map(|p| (p.x, p.y)).collect();
            let style = c.stroke_width(2);
            let series = if line.dashed {
                chart.draw_series(DashedLineSeries::new(xy.clone(), 7, 5, style))?
            } else {
                chart.draw_series(LineSeries::new(xy.clone(), style))?
            };
            let dashed = line.dashed;
            series.label(&line.label).legend(move |(x, y)| {
                let end = if dashed { x + 9 } else { x + 18 };
                PathElement::new(vec![(x, y), (end, y)], c.stroke_width(2))
            });
            if xy.len() == 1 || !line.dashed {
                chart.draw_series(xy.iter().map(|&(x, y)| Circle::new((x, y), 2, c.filled())))?;
            }
        }
        chart.draw_series(
            self.points.iter().map(|&(x, y, i)| Circle::new((x, y), 4, colour(i).mix(0.75).filled())),
        )?;
        if !self.lines.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 12))
                .draw()?;
        }
        root.present()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_in_the_svg() {
        let panel = Panel {
            title: "<script>alert(1)</script>".into(),
            x_label: "epoch".into(),
            y_label: "nats".into(),
            lines: vec![Line {
                label: "a<b & \"c\"".into(),
                colour: 0,
                dashed: false,
                points: vec![
                    BandPoint { x: 1.0, y: 0.5, low: 0.4, high: 0.6 },
                    BandPoint { x: 2.0, y: 0.3, low: 0.3, high: 0.3 },
                ],
            }],
            ..Panel::default()
        };
        let svg = panel.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(!svg.contains("<script"), "unescaped title");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("a&lt;b"));
    }

    #[test]
    fn ticks_read_well() {
        assert_eq!(tick(10f64.log10(), true), "10");
        assert_eq!(tick(0.5, true), "3.16");
        assert_eq!(tick(2.5, true), "316");
        assert_eq!(tick(2.0, false), "2");
        assert_eq!(tick(0.9995, false), "1");
        assert_eq!(tick(0.0, false), "0");
        assert_eq!(tick(1e-5, false), "1.00e-5");
    }

    #[test]
    fn empty_and_flat_panels_still_draw() {
        assert!(Panel::default().to_svg().is_ok());
        let flat = Panel { points: vec![(1.0, 2.0, 0), (1.0, 2.0, 1)], ..Panel::default() };
        assert!(flat.to_svg().unwrap().contains("<circle"));
    }
}
