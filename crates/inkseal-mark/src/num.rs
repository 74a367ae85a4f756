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

/// The natural logarithm of a positive, finite, normal `x` to about 1e-6, without a libm
/// call (so a loop over a spectrum vectorises): the exponent from the bits, and
/// `ln m = 2 atanh((m - 1) / (m + 1))` by its series for the mantissa `m` in [1, 2).
#[inline]
pub(crate) fn fast_ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series =
        s * (2.0 + s2 * (2.0 / 3.0 + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0)))));
    e as f32 * std::f32::consts::LN_2 + series
}

/// `e^x` to about 1e-5 relative for `x` in [-80, 80] (clamped there), without a libm call
/// or a float-to-integer conversion (so a loop vectorises): `2^n` from the bits times a
/// polynomial for `2^f`, with `n` the nearest integer to `x log2 e` and `f` in [-0.5, 0.5].
#[inline]
pub(crate) fn fast_exp(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer, which is then the low bits of the mantissa.
    const SHIFTER: f32 = 12_582_912.0;
    let y = x.clamp(-80.0, 80.0) * std::f32::consts::LOG2_E;
    let shifted = y + SHIFTER;
    let n = shifted.to_bits() as i32 - SHIFTER.to_bits() as i32;
    let f = y - (shifted - SHIFTER);
    // Taylor series of 2^f = e^(f ln 2) to the 6th power: error below 1e-7 on [-0.5, 0.5].
    let t = f * std::f32::consts::LN_2;
    let p = 1.0
        + t * (1.0
            + t * (0.5 + t * (1.0 / 6.0 + t * (1.0 / 24.0 + t * (1.0 / 120.0 + t / 720.0)))));
    p * f32::from_bits(((n + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ln_and_exp_agree_with_the_standard_library() {
        let mut x = 1e-30f32;
        while x < 1e30 {
            let (fast, std) = (fast_ln(x), x.ln());
            assert!(
                (fast - std).abs() <= 2e-6 * std.abs().max(1.0),
                "ln {x}: {fast} {std}"
            );
            x *= 1.013;
        }
        let mut x = -80.0f32;
        while x <= 80.0 {
            let (fast, std) = (fast_exp(x), x.exp());
            assert!((fast / std - 1.0).abs() < 1e-5, "exp {x}: {fast} {std}");
            x += 0.0137;
        }
    }

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
