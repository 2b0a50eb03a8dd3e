//! Money and distance as integers: cents and hundredths of a mile.
//!
//! No float touches a stored amount: clients send dollars and miles as JSON numbers, which
//! are converted here once, at the edge, and shown back as dollars by [`dollars`].

/// Cents as dollars for JSON (two decimals' worth of precision).
pub fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Whole cents from dollars as clients send them (`12.345` rounds half up to 1235).
/// Cents, when there are any, as dollars.
pub fn optional_dollars(cents: Option<i64>) -> Option<f64> {
    cents.map(dollars)
}

pub fn cents_from_dollars(dollars: f64) -> Option<i64> {
    (dollars.is_finite() && dollars.abs() < 1e12).then(|| (dollars * 100.0).round() as i64)
}

/// Hundredths of a mile from miles, rounded.
pub fn hundredths_from_miles(miles: f64) -> Option<i64> {
    (miles.is_finite() && (0.0..100_000.0).contains(&miles)).then(|| (miles * 100.0).round() as i64)
}

/// Hundredths of a mile as miles for JSON.
pub fn miles(hundredths: i64) -> f64 {
    hundredths as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(cents_from_dollars(278.67), Some(27867));
        assert_eq!(cents_from_dollars(0.1 + 0.2), Some(30));
        assert_eq!(cents_from_dollars(f64::NAN), None);
        assert_eq!(cents_from_dollars(1e13), None);
        assert_eq!(hundredths_from_miles(14.1), Some(1410));
        assert_eq!(hundredths_from_miles(-1.0), None);
        assert_eq!(dollars(5480), 54.8);
        assert_eq!(miles(763), 7.63);
    }
}
