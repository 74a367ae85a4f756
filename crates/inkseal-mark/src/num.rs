//! Small numeric helpers for hot loops.

/// `x.round() as i64` (halves away from zero) without a libm call: on the baseline x86-64
/// target `f64::round` is a function call, which dominated the lattice search and folding.
/// Exact for every `|x| < 2^53`; NaN gives 0, as the cast does. No branch either: folding
/// rounds coordinates whose fractions are random.
#[inline]
pub(crate) fn round_i64(x: f64) -> i64 {
    let t = x as i64;
    let f = x - t as f64;
    t + i64::from(f >= 0.5) - i64::from(f <= -0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_the_standard_library() {
        let mut x = -300.0f64;
        while x <= 300.0 {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
            x += 0.03125;
        }
        for x in [
            0.49999999999999994,
            -0.49999999999999994,
            2.5,
            -2.5,
            1e15 + 0.5,
            -1e15 - 0.5,
            4503599627370495.5,
            f64::NAN,
            0.0,
            -0.0,
        ] {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
    }
}
