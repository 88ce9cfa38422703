//! `accord send ROOM --file FILE` uploads a file and sends it in a message;
//! `accord history` names the attachment; `accord fetch HASH -o FILE`
//! writes the bytes the node serves, checked against the hash.

use accord_media::image::codecs::png::PngEncoder;
use accord_media::image::{ImageBuffer, Rgb, RgbImage};
use accord_proto::Sha256Hash;
use accord_testkit::TestNode;
use std::path::Path;
use std::process::Output;

async fn accord(node: &str, key: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_accord"));
    command.args(args).env("ACCORD_NODE", node).env("ACCORD_KEY", key).env_remove("ACCORD_CA_CERT");
    Ok(command.output().await?)
}

fn stdout(output: &Output) -> anyhow::Result<String> {
    anyhow::ensure!(output.status.success(), "accord failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8(output.stdout.clone())?.trim().to_owned())
}

#[tokio::test]
async fn the_cli_sends_a_file_and_fetches_it_back_by_hash() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let dir = tempfile::tempdir()?;
    let (url, key) = (node.url(), dir.path().join("alice.key"));
    let img: RgbImage = ImageBuffer::from_fn(120, 90, |x, y| Rgb([x as u8, y as u8, 200]));
    let mut png = Vec::new();
    img.write_with_encoder(PngEncoder::new(&mut png))?;
    let photo = dir.path().join("photo.png");
    std::fs::write(&photo, &png)?;

    stdout(&accord(&url, &key, &["keygen"]).await?)?;
    stdout(&accord(&url, &key, &["register", "alice"]).await?)?;
    let room = stdout(&accord(&url, &key, &["room", "create", "general"]).await?)?;
    let photo_arg = photo.to_str().ok_or_else(|| anyhow::anyhow!("path"))?;
    stdout(&accord(&url, &key, &["send", &room, "a drawing", "--file", photo_arg]).await?)?;
    let history = stdout(&accord(&url, &key, &["history", &room]).await?)?;
    let line = history.lines().find(|l| l.contains("a drawing")).ok_or_else(|| anyhow::anyhow!("{history}"))?;
    assert!(line.contains("[image/png 120x90,"), "{line}");
    let hash = line.rsplit(": ").next().and_then(|h| h.strip_suffix(']')).ok_or_else(|| anyhow::anyhow!("{line}"))?;

    let out = dir.path().join("fetched.png");
    let out_arg = out.to_str().ok_or_else(|| anyhow::anyhow!("path"))?;
    stdout(&accord(&url, &key, &["fetch", hash, "-o", out_arg]).await?)?;
    let fetched = std::fs::read(&out)?;
    assert_eq!(Sha256Hash::digest(&fetched).to_string(), hash);
    let decoded = accord_media::image::load_from_memory(&fetched)?;
    assert_eq!((decoded.width(), decoded.height()), (120, 90));

    let missing = accord(&url, &key, &["fetch", &Sha256Hash::digest(b"none").to_string(), "-o", out_arg]).await?;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("unknown_media"));
    node.stop().await
}
