//! PDQ: images hashed per second beside the decoder alone (the ceiling:
//! hashing cannot be faster than decoding), and the time to find every
//! stored hash within 31 bits of a query, by the multi-index beside a flat
//! scan of every hash, at 100,000 and 1,000,000 stored hashes.

use crate::report::Report;
use accord_pdq::{PdqHash, PdqIndex, decode, hash_image};
use accord_testkit::images::{jpeg, synthetic};
use std::hint::black_box;
use std::time::Instant;

/// The distance a match is searched within.
const THRESHOLD: u32 = 31;

fn random(rng: &mut fastrand::Rng) -> PdqHash {
    PdqHash(std::array::from_fn(|_| rng.u8(..)))
}

/// `hash` with `bits` random bits flipped (some may repeat).
fn near(hash: &PdqHash, bits: u32, rng: &mut fastrand::Rng) -> PdqHash {
    let mut out = *hash;
    for _ in 0..bits {
        let bit = rng.usize(0..256);
        out.0[bit / 8] ^= 1 << (bit % 8);
    }
    out
}

pub(crate) fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    hashing(quick, report)?;
    let sizes: &[usize] = if quick { &[20_000] } else { &[2_048, 100_000, 1_000_000] };
    for &n in sizes {
        matching(n, if quick { 200 } else { 2_000 }, report)?;
    }
    Ok(())
}

/// Photo-like 1024×768 JPEGs: decoded alone, then decoded and hashed.
fn hashing(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let count = if quick { 4 } else { 24 };
    let files: Vec<Vec<u8>> = (0..count).map(|i| jpeg(&synthetic(0xbe9c + i, 1024, 768), 85)).collect();
    let rounds = if quick { 1 } else { 3 };
    let t = Instant::now();
    for _ in 0..rounds {
        for f in &files {
            black_box(decode(f)?);
        }
    }
    let decoded_per_s = (rounds * files.len()) as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..rounds {
        for f in &files {
            let hashed = hash_image(&decode(f)?)?;
            anyhow::ensure!(hashed.quality.is_actionable(), "a photo-like image hashed with low quality");
            black_box(hashed);
        }
    }
    let hashed_per_s = (rounds * files.len()) as f64 / t.elapsed().as_secs_f64();
    report.figure("pdq_decode_1024x768_jpeg", decoded_per_s, "images/s", None);
    report.figure("pdq_hash_1024x768_jpeg", hashed_per_s, "images/s", Some(decoded_per_s));
    Ok(())
}

/// `n` stored hashes (a tenth of them near copies of a hundred "known"
/// images), `queries` queries (half near copies, half unrelated): the
/// multi-index and the flat scan must find the same, and every near copy
/// within the threshold.
fn matching(n: usize, queries: usize, report: &mut Report) -> anyhow::Result<()> {
    let mut rng = fastrand::Rng::with_seed(n as u64);
    let known: Vec<PdqHash> = (0..100).map(|_| random(&mut rng)).collect();
    let items: Vec<(PdqHash, u32)> = (0..n as u32)
        .map(|i| {
            let hash =
                if i % 10 == 0 { near(&known[rng.usize(0..known.len())], 20, &mut rng) } else { random(&mut rng) };
            (hash, i)
        })
        .collect();
    let t = Instant::now();
    let index = PdqIndex::from_items(items);
    let build_ms = t.elapsed().as_secs_f64() * 1000.0;
    let queries: Vec<PdqHash> = (0..queries)
        .map(|q| if q % 2 == 0 { near(&known[q % known.len()], 12, &mut rng) } else { random(&mut rng) })
        .collect();

    let t = Instant::now();
    let mut found_fast = 0;
    for q in &queries {
        found_fast += black_box(index.query(q, THRESHOLD)).len();
    }
    let fast_us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    let t = Instant::now();
    let mut found_flat = 0;
    for q in &queries {
        found_flat += black_box(index.flat(q, THRESHOLD)).len();
    }
    let flat_us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    anyhow::ensure!(found_fast == found_flat, "multi-index found {found_fast}, flat scan {found_flat}");
    anyhow::ensure!(found_fast >= queries.len() / 2, "near copies not found: {found_fast} matches");
    report.figure(&format!("pdq_index_build_{n}"), build_ms, "ms", None);
    report.figure(&format!("pdq_match_{n}_flat_scan"), flat_us, "us/query", None);
    report.figure(&format!("pdq_match_{n}_multi_index"), fast_us, "us/query", Some(flat_us));
    Ok(())
}
