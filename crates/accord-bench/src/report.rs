//! The summary lines: one per figure, machine-readable.

use serde_json::json;

/// Where figures are printed.
pub(crate) struct Report {
    json: bool,
}

impl Report {
    /// Prints `key=value` lines, or JSON objects when `json`.
    pub(crate) fn new(json: bool) -> Report {
        Report { json }
    }

    /// Prints one figure. `ceiling` is in the same unit as `value`; the
    /// ratio is `value / ceiling`.
    pub(crate) fn figure(&mut self, name: &str, value: f64, unit: &str, ceiling: Option<f64>) {
        let ratio = ceiling.filter(|c| *c > 0.0).map(|c| value / c);
        if self.json {
            println!("{}", json!({"bench": name, "value": value, "unit": unit, "ceiling": ceiling, "ratio": ratio}));
        } else {
            let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), fmt);
            println!("bench={name} value={} unit={unit} ceiling={} ratio={}", fmt(value), opt(ceiling), opt(ratio));
        }
    }
}

/// Four significant digits, no exponent.
fn fmt(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_keep_four_significant_digits() {
        assert_eq!(super::fmt(12345.678), "12346");
        assert_eq!(super::fmt(1.23456), "1.235");
        assert_eq!(super::fmt(0.0123456), "0.01235");
    }
}
