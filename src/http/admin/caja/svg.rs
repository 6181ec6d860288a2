//! Bar charts drawn on the server as SVG, so the reports work without JavaScript. The SVG
//! is built here as markup (inserted unescaped), so every text in it is escaped here.

/// A horizontal bar chart: one bar per (label, value in centavos), scaled to the largest.
pub fn bars(title: &str, rows: &[(String, i64)]) -> String {
    bars_with(title, rows, crate::domain::caja::format_signed)
}

/// [`bars`] with each value written by `label` (a count, a percentage).
pub fn bars_with(title: &str, rows: &[(String, i64)], write: impl Fn(i64) -> String) -> String {
    let width: i64 = 640;
    let row_h: i64 = 24;
    let label_w: i64 = 180;
    let height = row_h * rows.len().max(1) as i64 + 30;
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"100%\" aria-label=\"{}\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 20 + i as i64 * row_h;
        // Integer scaling: the largest bar is the full width, the rest in proportion.
        let w = if *value > 0 {
            (i128::from(*value) * i128::from(width - label_w - 120) / i128::from(max)) as i64
        } else {
            0
        };
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text><rect x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"#2f6f9f\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            label_w - 6,
            y + 14,
            escape(label),
            y + 2,
            row_h - 6,
            label_w + w + 6,
            y + 14,
            escape(&write(*value)),
        ));
    }
    out.push_str("</svg>");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_escapes_its_labels_and_scales_to_the_largest() {
        let svg = bars("Por día", &[("<b>".into(), 100), ("b".into(), 50)]);
        assert!(svg.contains("&lt;b&gt;"), "{svg}");
        assert!(!svg.contains("<b>"));
        assert!(
            svg.contains("width=\"340\""),
            "the largest bar is full width: {svg}"
        );
        assert!(
            svg.contains("width=\"170\""),
            "half the value, half the bar: {svg}"
        );
    }
}
