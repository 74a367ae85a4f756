//! p-values: the null distribution of the synchronisation peak and the payload check.

/// Upper tail of the standard normal distribution, accurate far into the tail.
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// Probability that the largest of `k` independent standard normals is at least `z`.
pub(crate) fn max_normal_sf(z: f64, k: f64) -> f64 {
    let q = normal_sf(z);
    if q >= 1.0 {
        return 1.0;
    }
    // 1 - (1 - q)^k without cancellation.
    (-(k * (-q).ln_1p()).exp_m1()).clamp(0.0, 1.0)
}

/// The exact p-value of the score (sync p-value `p_sync`, check passed or not), when under the
/// null the sync p-value is uniform and the check passes independently with probability
/// `q_check`. Ranks by `p_sync * (q_check if passed else 1)`, smaller is more extreme.
pub(crate) fn combined_p(p_sync: f64, check_passed: bool, q_check: f64) -> f64 {
    let t = if check_passed {
        p_sync * q_check
    } else {
        p_sync
    };
    // P(U <= t, fail) + P(U * q <= t, pass)
    let p = t * (1.0 - q_check) + (t / q_check).min(1.0) * q_check;
    p.clamp(0.0, 1.0)
}

/// `P(X >= k)` for `X ~ Binomial(n, 1/2)`.
pub(crate) fn binomial_sf(k: u32, n: u32) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let ln_choose = |j: u32| {
        libm::lgamma(n as f64 + 1.0)
            - libm::lgamma(j as f64 + 1.0)
            - libm::lgamma((n - j) as f64 + 1.0)
    };
    let ln_half = -(n as f64) * std::f64::consts::LN_2;
    (k.min(n + 1)..=n)
        .map(|j| (ln_choose(j) + ln_half).exp())
        .sum::<f64>()
        .min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_tail_matches_exact_small_cases() {
        // n = 4: P(X >= 3) = (4 + 1) / 16.
        assert!((binomial_sf(3, 4) - 5.0 / 16.0).abs() < 1e-12);
        assert!((binomial_sf(0, 10) - 1.0).abs() < 1e-12);
        assert!((binomial_sf(10, 10) - 1.0 / 1024.0).abs() < 1e-15);
        // n = 258, all bits: 2^-258.
        assert!((binomial_sf(258, 258) / 2f64.powi(-258) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn normal_tail_matches_tabulated_values() {
        // Values from standard normal tables.
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-12);
        assert!((normal_sf(1.959_963_985) - 0.025).abs() < 1e-9);
        assert!((normal_sf(4.753_424_309) / 1e-6 - 1.0).abs() < 1e-6);
        assert!((normal_sf(10.0) / 7.619_853_024e-24 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn max_of_k_is_bonferroni_like_in_the_tail_and_one_at_minus_infinity() {
        let q = normal_sf(6.0);
        assert!((max_normal_sf(6.0, 1000.0) / (1000.0 * q) - 1.0).abs() < 1e-4);
        assert!((max_normal_sf(-50.0, 10.0) - 1.0).abs() < 1e-12);
        assert!((max_normal_sf(0.0, 2.0) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn combined_p_is_uniform_under_the_null() {
        // Exact check of P(p <= a) = a on a grid, by integrating over U and the check event.
        let q = 2f64.powi(-16);
        for a in [1e-9, 1e-6, 1e-3, 0.05, 0.5] {
            // Under the null: fail with prob (1-q), U uniform; pass with prob q.
            // P(combined(U, fail) <= a) and P(combined(U, pass) <= a), by bisection on U.
            let solve = |pass: bool| {
                let (mut lo, mut hi) = (0.0f64, 1.0f64);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if combined_p(mid, pass, q) <= a {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                lo
            };
            let total = (1.0 - q) * solve(false) + q * solve(true);
            assert!((total / a - 1.0).abs() < 1e-6, "a = {a}: {total}");
        }
    }
}
