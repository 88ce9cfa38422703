//! Writes seed inputs for every fuzz target into `DIR/TARGET/` (default
//! `seeds/`): every object, string and hex body of the spec's test vectors,
//! a valid document of each import format, images of each type the upload
//! path takes, and client stream frames. The committed corpora
//! (`corpus/TARGET/`) were grown from these and minimized; rerun this to
//! seed them again (CONTRIBUTING.md, "Fuzzing").

use accord_formats::{Format, export};
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;
use accord_proto::{ContentHash, NodeId, PdqHash, RoomId, SecretKey, Sha256Hash};
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, RgbImage};
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "seeds".into()));
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors = vector_seeds(&here.join("../spec/vectors"))?;
    let protocol = [
        "envelope",
        "event",
        "identity",
        "checkpoint",
        "proof",
        "manifest",
        "name_proof",
        "report",
        "federation",
        "federation_wire",
        "list_page",
        "client_request",
        "media_wire",
    ];
    for target in protocol {
        write(&out.join(target), &vectors)?;
    }
    write(&out.join("client_frame"), &frames(&vectors))?;
    for (target, format) in [
        ("plain", Format::Plain),
        ("mastodon_csv", Format::MastodonCsv),
        ("matrix_policy", Format::MatrixPolicy),
        ("pdq_hex", Format::PdqHex),
        ("threatexchange_csv", Format::ThreatExchangeCsv),
    ] {
        write(&out.join(target), &[export(format, &entries()).into_bytes()])?;
    }
    write(&out.join("media_upload"), &images())?;
    write(&out.join("media_inspect"), &images())?;
    Ok(())
}

/// Writes each seed as a file named by its hash.
fn write(dir: &Path, seeds: &[Vec<u8>]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for seed in seeds {
        std::fs::write(dir.join(Sha256Hash::digest(seed).to_string()), seed)?;
    }
    Ok(())
}

/// Every file of the vectors whole, and every object, string and hex
/// string in them (decoded), as the proptests of accord-proto seed.
fn vector_seeds(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let bytes = std::fs::read(entry?.path())?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        collect(&value, &mut out);
        out.push(bytes);
    }
    out.retain(|s| s.len() <= 64 * 1024);
    out.sort();
    out.dedup();
    Ok(out)
}

fn collect(value: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match value {
        serde_json::Value::Object(map) => {
            out.push(value.to_string().into_bytes());
            map.values().for_each(|v| collect(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        serde_json::Value::String(s) => {
            out.push(s.clone().into_bytes());
            if let Ok(bytes) = hex_decode(s) {
                out.push(bytes);
            }
        }
        _ => {}
    }
}

fn hex_decode(s: &str) -> Result<Vec<u8>, ()> {
    if s.len() % 2 != 0 || s.is_empty() {
        return Err(());
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or(())?, 16).map_err(|_| ())).collect()
}

/// Subscribe and unsubscribe frames for every room id in the vectors.
fn frames(vectors: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let rooms: Vec<RoomId> = vectors
        .iter()
        .filter_map(|v| std::str::from_utf8(v).ok()?.parse().ok())
        .chain([RoomId::from_bytes([3; 32])])
        .collect();
    rooms
        .iter()
        .flat_map(|room| {
            [
                format!(r#"{{"type":"subscribe","room":"{room}","after":42}}"#),
                format!(r#"{{"type":"subscribe","room":"{room}"}}"#),
                format!(r#"{{"type":"unsubscribe","room":"{room}"}}"#),
            ]
        })
        .map(String::into_bytes)
        .collect()
}

/// One target of every kind, plain and hashed, each with a reason that
/// needs quoting.
fn entries() -> Vec<(Target, Category, Action, Option<Reason>)> {
    let key = |n: u8| SecretKey::from_seed([n; 32]);
    let plain = vec![
        Target::Account { id: key(1).account_id() },
        Target::Node { id: NodeId::from(key(2).public()) },
        Target::Room { id: RoomId::from_bytes([3; 32]) },
        Target::Content { id: ContentHash::of(b"spam spam spam") },
    ];
    let hashed: Vec<Target> = plain.iter().map(Target::to_hashed).collect();
    let pdq = Target::Pdq { hash: PdqHash([0x5a; 32]) };
    plain
        .into_iter()
        .chain(hashed)
        .chain([pdq])
        .map(|t| (t, Category::Spam, Action::Reject, Reason::new("r, \"é\"\nx").ok()))
        .collect()
}

/// A small image in each format the upload path takes.
fn images() -> Vec<Vec<u8>> {
    let img: RgbImage = ImageBuffer::from_fn(24, 16, |x, y| Rgb([(x * 10) as u8, (y * 15) as u8, 128]));
    [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP]
        .into_iter()
        .filter_map(|format| {
            let mut out = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(img.clone()).write_to(&mut out, format).ok()?;
            Some(out.into_inner())
        })
        .collect()
}
