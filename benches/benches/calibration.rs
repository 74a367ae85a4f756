//! Null calibration: how often unmarked images reach each p-value, over random keys and every
//! attack of `shared/attacks.md` (and the extra geometric ones). For calibrated p-values the
//! share at or below α is α, and no trial is detected at the default threshold (p ≤ 1e-6).
//!
//! Every unmarked image of `testdata/` and `testdata/holdout/`, unattacked and under every
//! attack that applies to it (`attacks::ALL`, then `attacks::EXTRA`), is analysed once
//! ([`Analysis::new`], which does not depend on the key) and then searched with each of the
//! same N random keys ([`Detector::detect_analysis`]). By default N is the smallest number of
//! keys that makes at least 100,000 null trials. The output reports the share of p-values at or
//! below α against α, the Kolmogorov-Smirnov distance from uniform (D, and the one-sided D+
//! that measures anti-conservatism), per image set, image and attack.
//!
//! `cargo bench -p inkseal-benches --bench calibration`
//!
//! Options (environment):
//! - `INKSEAL_BENCH_SETS=testdata,testdata/holdout`: folders of unmarked images, from the
//!   workspace root (`INKSEAL_BENCH_DIR=folder` alone means that one folder);
//! - `INKSEAL_BENCH_IMAGES=a.png,b.jpg`, `INKSEAL_BENCH_ATTACKS=jpeg50,up2`: restrict by name;
//! - `INKSEAL_BENCH_TRIALS=100000`: the least number of trials when the keys are not given;
//! - `INKSEAL_BENCH_KEYS=N`: random keys per attacked image (overrides the trials);
//! - `INKSEAL_BENCH_SEED=2026`: seed of the random keys;
//! - `INKSEAL_BENCH_TEST=work`: calibrate the known-work test instead
//!   ([`Detector::test_work_analysis`]): the published key, and N random work IDs in place of
//!   the N random keys.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use image::RgbImage;
use inkseal_benches::attacks::{ALL, Attack, EXTRA};
use inkseal_benches::{env_list, images_in, workspace_root};
use inkseal_mark::{
    Analysis, DetectConfig, Detector, ImageRef, Key, MIN_DETECT_SIDE, PixelLayout, WorkId,
};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The significance levels of the table.
const ALPHAS: [f64; 5] = [0.5, 0.1, 0.01, 1e-3, 1e-4];

/// One unmarked image.
struct Source {
    set: usize,
    /// Position in its folder (with the attack's index, the noise seed, as in the robustness
    /// benchmark).
    index: usize,
    name: String,
    image: RgbImage,
}

/// One attacked image, to be searched with every key.
struct Job {
    source: usize,
    attack: usize,
}

/// The outcome of one attacked image.
#[derive(Default)]
struct JobResult {
    /// p-values of the keyed searches, one per key.
    p: Vec<f64>,
    /// Searches that reported a mark.
    detections: usize,
    /// The attacked image is too small to search (not counted as trials).
    not_searched: bool,
    error: Option<String>,
    attack_s: f64,
    analysis_s: f64,
    search_s: f64,
}

fn env_parse<T: std::str::FromStr>(var: &str) -> Option<T> {
    std::env::var(var).ok().and_then(|s| s.trim().parse().ok())
}

fn run_job(
    image: &RgbImage,
    attack: &Attack,
    seed: u64,
    detectors: &mut [Detector],
    works: &[WorkId],
    config: &DetectConfig,
) -> JobResult {
    let mut r = JobResult::default();
    let start = Instant::now();
    let attacked = attack.apply(image, seed);
    r.attack_s = start.elapsed().as_secs_f64();
    if attacked.width().min(attacked.height()) < MIN_DETECT_SIDE {
        r.not_searched = true;
        return r;
    }
    let start = Instant::now();
    let analysis = ImageRef::new(
        attacked.as_raw(),
        attacked.width(),
        attacked.height(),
        PixelLayout::Rgb8,
    )
    .and_then(|view| Analysis::new(view, config));
    r.analysis_s = start.elapsed().as_secs_f64();
    let analysis = match analysis {
        Ok(a) => a,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let start = Instant::now();
    if let ([det], false) = (&mut *detectors, works.is_empty()) {
        // The blind search is the same for every work ID: once per image.
        let blind = det.detect_analysis(&analysis);
        for &id in works {
            let t = det.test_work_after(&analysis, &blind, id);
            r.detections += usize::from(t.present);
            r.p.push(t.p_value);
        }
    } else {
        for det in detectors {
            let d = det.detect_analysis(&analysis);
            r.detections += usize::from(d.detected);
            r.p.push(d.p_value);
        }
    }
    r.search_s = start.elapsed().as_secs_f64();
    r
}

/// The null p-values of a group of attacked images, sorted, and what they show.
struct Summary {
    attacked: usize,
    detections: usize,
    errors: usize,
    sorted: Vec<f64>,
    /// Two-sided Kolmogorov-Smirnov distance from the uniform distribution.
    d: f64,
    /// One-sided D+ = max(F_emp(p) - p): how anti-conservative the p-values are.
    d_plus: f64,
}

impl Summary {
    fn of<'a>(results: impl Iterator<Item = &'a JobResult>) -> Summary {
        let (mut attacked, mut detections, mut errors) = (0, 0, 0);
        let mut sorted = Vec::new();
        for r in results {
            if r.not_searched {
                continue;
            }
            attacked += 1;
            detections += r.detections;
            errors += usize::from(r.error.is_some());
            sorted.extend_from_slice(&r.p);
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let (mut d, mut d_plus) = (0f64, 0f64);
        for (i, &v) in sorted.iter().enumerate() {
            let above = (i + 1) as f64 / n - v;
            let below = v - i as f64 / n;
            d_plus = d_plus.max(above);
            d = d.max(above).max(below);
        }
        Summary {
            attacked,
            detections,
            errors,
            sorted,
            d,
            d_plus,
        }
    }

    fn trials(&self) -> usize {
        self.sorted.len()
    }

    fn count_at_most(&self, alpha: f64) -> usize {
        self.sorted.partition_point(|&v| v <= alpha)
    }

    fn share(&self, alpha: f64) -> f64 {
        self.count_at_most(alpha) as f64 / self.trials().max(1) as f64
    }

    fn min_p(&self) -> f64 {
        self.sorted.first().copied().unwrap_or(f64::NAN)
    }

    /// Two-sided KS critical value at the 1% level, `1.63 / sqrt(n)`.
    fn ks_critical(&self) -> f64 {
        1.63 / (self.trials().max(1) as f64).sqrt()
    }
}

fn group_table(what: &str, groups: &[(String, Summary)]) {
    println!(
        "| {what} | attacked images | trials | detections | min p | p ≤ 0.1 (×α) | p ≤ 0.01 (×α) | p ≤ 1e-3 (×α) | KS D | D+ | 1.63/√n |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, s) in groups {
        println!(
            "| {name} | {} | {} | {} | {:.2e} | {:.2} | {:.2} | {:.2} | {:.4} | {:.4} | {:.4} |{}",
            s.attacked,
            s.trials(),
            s.detections,
            s.min_p(),
            s.share(0.1) / 0.1,
            s.share(0.01) / 0.01,
            s.share(1e-3) / 1e-3,
            s.d,
            s.d_plus,
            s.ks_critical(),
            if s.errors > 0 {
                format!(" {} errors", s.errors)
            } else {
                String::new()
            }
        );
    }
    println!();
}

fn main() {
    let started = Instant::now();
    let config = DetectConfig::default();
    let mut sets = env_list("INKSEAL_BENCH_SETS");
    if sets.is_empty() {
        sets = match std::env::var("INKSEAL_BENCH_DIR") {
            Ok(dir) => vec![dir],
            Err(_) => vec!["testdata".into(), "testdata/holdout".into()],
        };
    }
    let only = env_list("INKSEAL_BENCH_IMAGES");
    let wanted = env_list("INKSEAL_BENCH_ATTACKS");
    let min_trials: usize = env_parse("INKSEAL_BENCH_TRIALS").unwrap_or(100_000);
    let seed: u64 = env_parse("INKSEAL_BENCH_SEED").unwrap_or(2026);

    let root = workspace_root();
    let mut sources = Vec::new();
    for (set, dir) in sets.iter().enumerate() {
        let images = images_in(&root.join(dir), &only);
        if images.is_empty() {
            eprintln!("warning: no images in {dir}");
        }
        for (index, (name, image)) in images.into_iter().enumerate() {
            sources.push(Source {
                set,
                index,
                name,
                image,
            });
        }
    }
    // Attacks by index into `ALL` then `EXTRA` (the index is part of the noise seed).
    let every: Vec<Attack> = ALL.iter().chain(EXTRA).copied().collect();
    let attacks: Vec<usize> = (0..every.len())
        .filter(|&k| wanted.is_empty() || wanted.iter().any(|w| w == every[k].name))
        .collect();
    let jobs: Vec<Job> = sources
        .iter()
        .enumerate()
        .flat_map(|(source, s)| {
            attacks
                .iter()
                .filter(|&&k| every[k].applies_to(&s.image))
                .map(move |&attack| Job { source, attack })
        })
        .collect();
    if jobs.is_empty() {
        eprintln!("error: no images to search");
        std::process::exit(2);
    }
    let n_keys = env_parse("INKSEAL_BENCH_KEYS")
        .unwrap_or_else(|| min_trials.div_ceil(jobs.len()))
        .max(1);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let work_test = std::env::var("INKSEAL_BENCH_TEST").is_ok_and(|t| t == "work");
    let works: Vec<WorkId> = if work_test {
        (0..n_keys).map(|_| WorkId(rng.random())).collect()
    } else {
        Vec::new()
    };
    let keys = if work_test { 1 } else { n_keys };
    let detectors: Vec<Detector> = match (0..keys)
        .map(|_| {
            let key = if work_test {
                Key::public()
            } else {
                Key::generate(&mut rng)
            };
            Detector::new(&key, config.clone())
        })
        .collect()
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };

    // One worker per core (two on the reference machine), each with its own engines. The
    // attacked images are handed out one at a time, so large and small ones balance.
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, JobResult)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    std::thread::scope(|s| {
        for _ in 0..workers {
            let mut detectors = detectors.clone();
            let (jobs, sources, every, next, done, results, config, works) = (
                &jobs, &sources, &every, &next, &done, &results, &config, &works,
            );
            s.spawn(move || {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(j) else {
                        break;
                    };
                    let src = &sources[job.source];
                    let seed = (src.index * 1000 + job.attack) as u64;
                    let r = run_job(
                        &src.image,
                        &every[job.attack],
                        seed,
                        &mut detectors,
                        works,
                        config,
                    );
                    if let Ok(mut all) = results.lock() {
                        all.push((j, r));
                    }
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if progress && finished % 50 == 0 {
                        eprintln!(
                            "{finished}/{} attacked images, {:.0} s",
                            jobs.len(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(j, _)| *j);
    let job_of = |j: usize| &jobs[j];
    for (j, r) in &results {
        if let Some(e) = &r.error {
            let job = job_of(*j);
            eprintln!(
                "error: {} / {}: {e}",
                sources[job.source].name, every[job.attack].name
            );
        }
    }

    let all = Summary::of(results.iter().map(|(_, r)| r));
    let n = all.trials();
    let not_searched = results.iter().filter(|(_, r)| r.not_searched).count();
    let below_threshold = all.count_at_most(config.threshold);
    let smallest = results
        .iter()
        .flat_map(|(j, r)| r.p.iter().map(move |&p| (p, *j)))
        .min_by(|a, b| a.0.total_cmp(&b.0));

    if work_test {
        println!("# inkseal null calibration of the known-work test (`--work`)\n");
    } else {
        println!("# inkseal null calibration\n");
    }
    let set_list: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let k = sources.iter().filter(|s| s.set == i).count();
            format!("{dir}/ ({k} images)")
        })
        .collect();
    println!(
        "Unmarked images of {}, each unattacked and under every attack of attacks.md and \
         the extra geometric ones that applies ({} attacks): {} attacked images, each analysed once and searched with the \
         same {} random {} (seed {seed}).\n",
        set_list.join(" and "),
        attacks.len(),
        all.attacked,
        n_keys,
        if work_test {
            "work IDs under the published key (known-work test)"
        } else {
            "keys"
        },
    );
    println!(
        "**{n} null trials; {} detections at the default threshold (p ≤ {:.0e}); \
         {below_threshold} trials with p ≤ {:.0e} (a detection also needs the payload's check \
         to pass); {} errors; {not_searched} attacked images too small to search.**\n",
        all.detections, config.threshold, config.threshold, all.errors
    );
    let expected = config.threshold * n as f64;
    println!(
        "With exactly uniform p-values {expected:.2} trials would reach p ≤ {:.0e} \
         (none with probability {:.0}%).\n",
        config.threshold,
        100.0 * (-expected).exp()
    );
    if let Some((p, j)) = smallest {
        let job = job_of(j);
        println!(
            "Smallest p-value: {p:.3e} ({} / {}); {:.1} expected below it under uniform.\n",
            sources[job.source].name,
            every[job.attack].name,
            p * n as f64
        );
    }

    println!("| α | trials with p ≤ α | expected | share | ratio share/α |");
    println!("|---|---|---|---|---|");
    for alpha in ALPHAS {
        let share = all.share(alpha);
        println!(
            "| {alpha:.0e} | {} | {:.1} | {share:.3e} | {:.3} |",
            all.count_at_most(alpha),
            alpha * n as f64,
            share / alpha
        );
    }
    println!();
    println!(
        "Kolmogorov-Smirnov against uniform over all {n} trials: D = {:.5}, one-sided \
         D+ = max(F_emp(p) - p) = {:.5} (the anti-conservative excess; D > D+ means the larger \
         deviation is on the conservative side, F_emp(p) < p). 1% critical value 1.63/√n = {:.5} (one-sided: \
         1.52/√n = {:.5}).\n",
        all.d,
        all.d_plus,
        all.ks_critical(),
        1.52 / (n.max(1) as f64).sqrt()
    );
    println!(
        "The critical values are indicative only: the trials are not independent (each \
         attacked image is searched with every key, and the attacked versions of one image \
         share its content), so the effective number of trials is smaller than n and the \
         critical values above are stricter than the true ones.\n"
    );

    let by_set: Vec<(String, Summary)> = sets
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let s = Summary::of(
                results
                    .iter()
                    .filter(|(j, _)| sources[job_of(*j).source].set == i)
                    .map(|(_, r)| r),
            );
            (format!("{dir}/"), s)
        })
        .collect();
    group_table("image set", &by_set);

    let by_image: Vec<(String, Summary)> = sources
        .iter()
        .enumerate()
        .map(|(i, src)| {
            let s = Summary::of(
                results
                    .iter()
                    .filter(|(j, _)| job_of(*j).source == i)
                    .map(|(_, r)| r),
            );
            (format!("{}/{}", sets[src.set], src.name), s)
        })
        .collect();
    group_table("image", &by_image);

    let by_attack: Vec<(String, Summary)> = attacks
        .iter()
        .map(|&k| {
            let s = Summary::of(
                results
                    .iter()
                    .filter(|(j, _)| job_of(*j).attack == k)
                    .map(|(_, r)| r),
            );
            (every[k].name.to_string(), s)
        })
        .filter(|(_, s)| s.attacked > 0)
        .collect();
    group_table("attack", &by_attack);

    let (attack_s, analysis_s, search_s) = results.iter().fold((0.0, 0.0, 0.0), |acc, (_, r)| {
        (acc.0 + r.attack_s, acc.1 + r.analysis_s, acc.2 + r.search_s)
    });
    println!(
        "Wall time {wall:.1} s with {workers} workers. Summed over workers: attacks {attack_s:.1} s, \
         analysis {analysis_s:.1} s ({:.1} ms per attacked image), keyed searches {search_s:.1} s \
         ({:.0} µs per trial).\n",
        analysis_s * 1e3 / all.attacked.max(1) as f64,
        search_s * 1e6 / n.max(1) as f64
    );
    let one_sided = 1.52 / (n.max(1) as f64).sqrt();
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!(
        "- zero detections at p ≤ {:.0e}: {}\n\
         - at least {min_trials} trials: {}\n\
         - not anti-conservative (D+ {:.5} < 1.52/√n {:.5}): {}\n\
         - uniform (D {:.5} < 1.63/√n {:.5}): {}{}\n",
        config.threshold,
        yes(all.detections == 0 && all.errors == 0),
        yes(n >= min_trials),
        all.d_plus,
        one_sided,
        yes(all.d_plus < one_sided),
        all.d,
        all.ks_critical(),
        yes(all.d < all.ks_critical()),
        if all.d >= all.ks_critical() && all.d_plus < one_sided {
            format!(
                " (conservative: {:.2}x the nominal share at α = 0.1)",
                all.share(0.1) / 0.1
            )
        } else {
            String::new()
        }
    );
    // Conservative p-values are safe; detections and anti-conservative ones are not.
    let pass = all.detections == 0 && all.errors == 0 && all.d_plus < one_sided;
    println!(
        "result: {} ({n} null trials, {} detections, D+ {:.5})",
        if pass { "pass" } else { "FAIL" },
        all.detections,
        all.d_plus
    );
}
