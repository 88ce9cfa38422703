//! Files in the chat client, driven in headless Chromium against real
//! nodes (spec/client-api.md §10, spec/events.md §2.3): a member picks a
//! photo with the composer's file input, the page uploads it and signs a
//! message carrying its descriptor; the photo shows as a thumbnail in the
//! sender's browser and, once the second node has fetched it from the
//! origin, in the other member's browser; the full image opens checked
//! against its hash. An upload a blocklist refuses is explained to the
//! member with the entry that refused it. Selectors are the stable ones
//! listed at the top of `crates/accord-node/web/chat/app.js`.

use crate::web_chat::{create_room, join_room, js, register, say, shows_message, wait_for};
use accord_pdq::hash_bytes;
use accord_pdq::image::GenericImageView as _;
use accord_proto::Sha256Hash;
use accord_sdk::{EventContent, HistoryQuery, MediaType};
use accord_testkit::browser::Browser;
use accord_testkit::images::{jpeg, synthetic};
use accord_testkit::{TestNet, TestNode};
use anyhow::Context as _;
use serde_json::json;
use std::time::Duration;

/// How long the second node may take to fetch a file from the origin.
const FETCH_PATIENCE: Duration = Duration::from_secs(60);

/// Picks `bytes` as a file named `name` with the composer's file input,
/// as a member does through the file chooser (WebDriver sends the path),
/// and answers the uploaded file's hash once its chip says it is ready.
async fn attach(browser: &Browser, dir: &std::path::Path, name: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    let input = browser.find("#composer-file").await?;
    input.send_keys(path.to_str().context("a UTF-8 path")?).await?;
    let hash = wait_for(
        browser,
        "the uploaded file's chip",
        "document.querySelector('#composer-attachments li.attachment-chip[data-state=\"ready\"]')?.dataset.hash",
    )
    .await?;
    Ok(hash.as_str().context("the chip's hash")?.to_owned())
}

/// The JavaScript condition "the thumbnail of `hash` is shown, decoded",
/// answering `[naturalWidth, naturalHeight, width, height, alt]`.
fn shows_thumbnail(hash: &str) -> String {
    format!(
        "(() => {{ const i = document.querySelector('#timeline-list li.event-message figure.attachment[data-hash=\"{hash}\"][data-state=\"ready\"] img'); \
         return i && i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight, i.width, i.height, i.alt]; }})()"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_photo_sent_from_the_browser_shows_in_both_members_browsers_across_nodes() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let net = TestNet::start(2).await?;
    net.wait_connected(crate::media::PATIENCE).await?;
    let (a, b) = (Browser::start().await?, Browser::start().await?);
    register(&a, &net.nodes[0].url(), "alice").await?;
    register(&b, &net.nodes[1].url(), "bob").await?;
    let room = create_room(&a, "photos").await?;
    join_room(&b, &room, &net.nodes[0].node_id()).await?;
    wait_for(
        &a,
        "bob's join to reach alice",
        "document.querySelector('#timeline-list li.event-state[data-type=\"join\"]')",
    )
    .await?;
    say(&a, "good morning, the boats are out").await?;
    wait_for(&b, "a first message", &shows_message("good morning, the boats are out")).await?;

    // Act: alice picks an 800×600 photo and sends it with a caption.
    let dir = tempfile::tempdir()?;
    let photo = jpeg(&synthetic(0x4a2b0, 800, 600), 92);
    let hash = attach(&a, dir.path(), "harbour.jpg", &photo).await?;
    let chip = js(
        &a,
        "const c = document.querySelector('#composer-attachments li.attachment-chip'); \
         return [c.querySelector('.chip-name').textContent, c.querySelector('.chip-meta').textContent];",
        vec![],
    )
    .await?;
    assert_eq!(chip[0], json!("harbour.jpg"), "{chip}");
    assert!(chip[1].as_str().unwrap_or_default().starts_with("800×600"), "the chip shows what will be sent: {chip}");
    say(&a, "the harbour at dawn").await?;

    // The message, as the node stores it and the Rust verifier reads it,
    // carries exactly the descriptor the node answered for the upload.
    let watcher = net.nodes[0].user("watcher").await?;
    let watched = watcher.room(room.parse()?);
    watched.join().await?;
    let page = watched.history(HistoryQuery::after(0).limit(50)).await?;
    let attachments = page
        .items
        .iter()
        .map(|item| item.as_ref().map_err(|e| anyhow::anyhow!("an item failed the SDK's verification: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .find_map(|item| match item.event.content() {
            EventContent::Message { text, attachments, .. } if text.as_str() == "the harbour at dawn" => {
                Some(attachments.clone())
            }
            _ => None,
        })
        .context("the message with the photo, in the room's history")?;
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    let attachment = attachments[0];
    assert_eq!(attachment.hash.to_string(), hash);
    assert_eq!(
        (attachment.media_type, attachment.width, attachment.height),
        (MediaType::Jpeg, Some(800), Some(600))
    );
    assert_ne!(attachment.hash, Sha256Hash::digest(&photo), "the node stores the re-encoded photo, not the upload");

    // Assert: the thumbnail shows in alice's browser and, once node two
    // holds the file, in bob's, at the thumbnail's own size, laid out from
    // the descriptor (800×600 fitted into 320 pixels).
    let thumbnail = watcher.fetch_thumbnail(&attachment.hash).await?;
    let (tw, th) = accord_pdq::image::load_from_memory(&thumbnail)?.dimensions();
    assert_eq!((tw, th), (320, 240), "the node's thumbnail");
    for (browser, who) in [(&a, "alice"), (&b, "bob")] {
        wait_for(browser, &format!("the caption in {who}'s browser"), &shows_message("the harbour at dawn")).await?;
        let shown = browser
            .until(&format!("the photo's thumbnail in {who}'s browser"), &shows_thumbnail(&hash), FETCH_PATIENCE)
            .await?;
        assert_eq!(&shown.as_array().context("thumbnail facts")?[..4], &[json!(tw), json!(th), json!(320), json!(240)]);
        let alt = shown[4].as_str().unwrap_or_default();
        assert!(alt.starts_with("image, 800×600, from "), "alt text: {alt:?}");
        let errors = js(browser, "return document.querySelectorAll('.event-error').length;", vec![]).await?;
        assert_eq!(errors, json!(0), "no item may fail verification in {who}'s browser");
    }

    // The bytes each node serves hash to the attachment (the SDK checks).
    let bob_sdk = net.nodes[1].user("checker").await?;
    let served = crate::media::fetch_when_held(&bob_sdk, &attachment.hash).await;
    assert_eq!(served.len() as u64, attachment.size);
    assert_eq!(watcher.fetch_media(&attachment.hash).await?, served);
    b.screenshot("web-chat-media").await?;

    // Opening the thumbnail (keyboard: it is a button) shows the full
    // image, its bytes checked against the hash in the page.
    js(
        &b,
        &format!("document.querySelector('figure.attachment[data-hash=\"{hash}\"] button.attachment-open').focus();"),
        vec![],
    )
    .await?;
    b.find(&format!("figure.attachment[data-hash=\"{hash}\"] button.attachment-open")).await?.send_keys("\u{e007}").await?;
    let full = wait_for(
        &b,
        "the full image in the dialog",
        "document.getElementById('image-dialog').open && \
         document.getElementById('image-dialog-frame').dataset.state === 'ready' && \
         (() => { const i = document.getElementById('image-dialog-img'); \
           return i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight, i.dataset.verified]; })()",
    )
    .await?;
    assert_eq!(full, json!([800, 600, "1"]));
    let download =
        js(&b, "const d = document.getElementById('image-dialog-download'); return [d.hidden, d.download];", vec![])
            .await?;
    assert_eq!(download, json!([false, format!("{}.jpg", &hash[..12])]));
    b.screenshot("web-chat-media-full").await?;
    a.close().await?;
    b.close().await?;
    net.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_image_a_blocklist_covers_is_refused_at_upload_and_the_page_names_the_entry() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    // Arrange: the node's own list holds the PDQ hash of an image.
    let original = synthetic(0x51de, 800, 600);
    let listed = hash_bytes(&jpeg(&original, 95))?;
    assert!(listed.quality.is_actionable(), "the listed image has a PDQ hash strong enough to act on");
    let node = TestNode::start().await?;
    let created = node.admin("POST", "/lists", Some(json!({"name": "images"}))).await?;
    let list = created["list"].as_str().context("list id")?.to_owned();
    node.admin(
        "POST",
        "/lists/images/entries",
        Some(json!({"kind": "pdq", "id": listed.hash.to_string(), "category": "child_sexual_abuse",
            "reason": "known abuse image"})),
    )
    .await?;
    let started = std::time::Instant::now();
    loop {
        let found = node.admin("POST", "/pdq/match", Some(json!({"hash": listed.hash.to_string()}))).await?;
        if found["matches"].as_array().is_some_and(|m| !m.is_empty()) {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "the node never applied its pdq entry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Act: a member picks a re-encoded copy of the image.
    let browser = Browser::start().await?;
    register(&browser, &node.url(), "erin").await?;
    create_room(&browser, "uploads").await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("copy.jpg");
    std::fs::write(&path, jpeg(&original, 80))?;
    browser.find("#composer-file").await?.send_keys(path.to_str().context("a UTF-8 path")?).await?;

    // Assert: the page says in words which entry of which list refused it,
    // and keeps nothing to send.
    let shown = wait_for(
        &browser,
        "the refusal in the composer",
        "!document.getElementById('composer-error').hidden && \
         [document.getElementById('composer-error').dataset.code, document.getElementById('composer-error').dataset.list, \
          document.getElementById('composer-error').dataset.entry, document.getElementById('composer-error').textContent]",
    )
    .await?;
    assert_eq!(&shown.as_array().context("refusal")?[..3], &[json!("blocked"), json!(list), json!("0")]);
    let text = shown[3].as_str().unwrap_or_default();
    for needle in ["“copy.jpg” was refused", "entry #0", &list, "child sexual abuse", "known abuse image"] {
        assert!(text.contains(needle), "{needle:?} missing from {text:?}");
    }
    let chips = js(&browser, "return document.querySelectorAll('#composer-attachments li').length;", vec![]).await?;
    assert_eq!(chips, json!(0), "a refused file is not kept to send");
    browser.screenshot("web-chat-media-blocked").await?;
    browser.close().await?;
    node.stop().await
}
