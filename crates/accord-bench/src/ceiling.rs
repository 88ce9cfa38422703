//! The hardware ceilings, measured by this binary in the same run: ed25519
//! verification rate on all cores (one signature at a time, and in
//! batches) and raw SHA-256 over a Merkle tree's nodes.

use crate::report::Report;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::keys::{PublicKey, Signature, verify_batch};
use accord_proto::{Domain, EventId, RoomId, SecretKey, Sha256Hash, Timestamp, Verified};
use sha2::{Digest as _, Sha256};
use std::time::{Duration, Instant};

/// Signatures per batch in the batch ceiling.
const BATCH: usize = 64;

/// Ceilings measured so far in this run.
#[derive(Debug, Default)]
pub(crate) struct Ceilings {
    verify_single: Option<f64>,
    verify_batch: Option<f64>,
    sign: Option<f64>,
    node_crypto: Option<f64>,
}

/// Signed event bodies, as clients send them: (key, signing input, signature).
fn signed_inputs(n: usize) -> anyhow::Result<Vec<(PublicKey, Vec<u8>, Signature)>> {
    let room = RoomId::from(EventId(Sha256Hash::digest(b"ceiling room")));
    (0..n)
        .map(|i| {
            let key = SecretKey::generate()?;
            let body = EventBody {
                room: Some(room),
                author: key.account_id(),
                ts: Timestamp::now(),
                content: EventContent::Message {
                    text: format!("ceiling message {i} of a typical length").try_into()?,
                    reply_to: None,
                    attachments: vec![],
                },
            };
            let signed = Verified::sign(body, &key)?.to_unverified();
            let raw = signed.raw();
            Ok((raw.signer, Domain::Event.signing_input(&raw.body), raw.sig))
        })
        .collect()
}

/// Runs `work` on every core for `span`; `work` returns how many items
/// it did in one call. Returns items per second, all cores together.
fn on_all_cores(span: Duration, work: &(dyn Fn() -> usize + Sync)) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = 0;
                    while started.elapsed() < span {
                        done += work();
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / started.elapsed().as_secs_f64()
}

impl Ceilings {
    fn span(quick: bool) -> Duration {
        if quick { Duration::from_millis(200) } else { Duration::from_secs(3) }
    }

    /// Measures and prints every ceiling that does not depend on a
    /// scenario's size.
    pub(crate) fn measure_all(&mut self, quick: bool, report: &mut Report) -> anyhow::Result<()> {
        self.verify_single(quick, report)?;
        self.verify_batch(quick, report)?;
        self.node_crypto(quick, report)?;
        let n = if quick { 20_000 } else { 1_000_000 };
        let secs = sha256_merkle_seconds(n, 60);
        report.figure(&format!("ceiling_sha256_merkle_{n}"), secs, "s", None);
        Ok(())
    }

    /// ed25519 verifications per second, one signature at a time
    /// (`verify_strict`, as the node checks a submitted event), on all
    /// cores. Measured once per run.
    pub(crate) fn verify_single(&mut self, quick: bool, report: &mut Report) -> anyhow::Result<f64> {
        if let Some(v) = self.verify_single {
            return Ok(v);
        }
        let inputs = signed_inputs(256)?;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let rate = on_all_cores(Self::span(quick), &|| {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % inputs.len();
            let (key, input, sig) = &inputs[i];
            usize::from(key.verify(input, sig))
        });
        report.figure("ceiling_ed25519_verify_single_all_cores", rate, "sig/s", None);
        self.verify_single = Some(rate);
        Ok(rate)
    }

    /// ed25519 signatures per second on all cores, over event-sized
    /// inputs (the node signs one stamp per message). Measured once per run.
    pub(crate) fn sign(&mut self, quick: bool, report: &mut Report) -> anyhow::Result<f64> {
        if let Some(v) = self.sign {
            return Ok(v);
        }
        let key = SecretKey::generate()?;
        let inputs = signed_inputs(64)?;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let rate = on_all_cores(Self::span(quick), &|| {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % inputs.len();
            std::hint::black_box(key.sign_raw(&inputs[i].1));
            1
        });
        report.figure("ceiling_ed25519_sign_all_cores", rate, "sig/s", None);
        self.sign = Some(rate);
        Ok(rate)
    }

    /// Messages per second that the node's own crypto allows on all cores:
    /// one strict verification of the author's signature and one signature
    /// (the node's stamp) per message, `cores / (t_verify + t_sign)`.
    pub(crate) fn node_crypto(&mut self, quick: bool, report: &mut Report) -> anyhow::Result<f64> {
        if let Some(v) = self.node_crypto {
            return Ok(v);
        }
        let verify = self.verify_single(quick, report)?;
        let sign = self.sign(quick, report)?;
        let rate = 1.0 / (1.0 / verify + 1.0 / sign);
        report.figure("ceiling_node_crypto_per_msg_all_cores", rate, "msg/s", None);
        self.node_crypto = Some(rate);
        Ok(rate)
    }

    /// ed25519 verifications per second in batches of 64 on all cores.
    pub(crate) fn verify_batch(&mut self, quick: bool, report: &mut Report) -> anyhow::Result<f64> {
        if let Some(v) = self.verify_batch {
            return Ok(v);
        }
        let inputs = signed_inputs(BATCH)?;
        let items: Vec<(PublicKey, &[u8], Signature)> = inputs.iter().map(|(k, m, s)| (*k, m.as_slice(), *s)).collect();
        let rate = on_all_cores(Self::span(quick), &|| verify_batch(&items).into_iter().filter(|ok| *ok).count());
        report.figure("ceiling_ed25519_verify_batch64_all_cores", rate, "sig/s", None);
        self.verify_batch = Some(rate);
        Ok(rate)
    }
}

/// Seconds that one core takes for raw SHA-256 over every node of a Merkle
/// tree of `n` leaves of `leaf_len` bytes: `n` leaf hashes
/// (`0x00 ‖ leaf`) and `n - 1` interior hashes (`0x01 ‖ left ‖ right`).
/// A fresh subscriber has to compute at least this much to verify a list
/// of `n` entries; everything above it is the node's own cost.
pub(crate) fn sha256_merkle_seconds(n: usize, leaf_len: usize) -> f64 {
    let leaf = vec![0x5a_u8; leaf_len];
    let started = Instant::now();
    let mut level: Vec<[u8; 32]> = (0..n)
        .map(|i| {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(&leaf);
            h.update((i as u64).to_le_bytes());
            h.finalize().into()
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => {
                    let mut h = Sha256::new();
                    h.update([1u8]);
                    h.update(l);
                    h.update(r);
                    h.finalize().into()
                }
                [one] => *one,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    std::hint::black_box(&level);
    started.elapsed().as_secs_f64()
}
