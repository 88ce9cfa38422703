//! Files in the chat client, driven in headless Chromium against real
//! nodes (spec/client-api.md §10, spec/events.md §2.3): a member picks a
//! photo with the composer's file input, the page uploads it and signs a
//! message carrying its descriptor; the photo shows as a thumbnail in the
//! sender's browser and, once the second node has fetched it from the
//! origin, in the other member's browser; the full image opens checked
//! against its hash (and refused when the node alters it). A file the node
//! does not hold yet shows a placeholder and is asked for again. An upload
//! a blocklist refuses is explained to the member with the entry that
//! refused it. Selectors are the stable ones
//! listed at the top of `crates/accord-node/web/chat/app.js`.

use crate::web_chat::{create_room, join_room, js, register, say, shows_message, wait_for};
use accord_pdq::hash_bytes;
use accord_pdq::image::GenericImageView as _;
use accord_proto::Sha256Hash;
use accord_sdk::{EventContent, HistoryQuery, MediaType};
use accord_testkit::browser::Browser;
use accord_testkit::images::{jpeg, synthetic};
use accord_testkit::tamper::{Rewrite, TamperProxy};
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
    let (a, b, room) = crate::web_chat::alice_and_bob_in(&net, "photos").await?;
    // A third member, through the SDK, reads the room as the Rust
    // verifier does.
    let watcher = net.nodes[0].user("watcher").await?;
    let watched = watcher.room(room.parse()?);
    watched.join().await?;
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
    a.screenshot("web-chat-media-composer").await?;
    say(&a, "the harbour at dawn").await?;

    // The message, as the node stores it and the Rust verifier reads it,
    // carries exactly the descriptor the node answered for the upload.
    wait_for(&a, "the photo's message, as sent", &shows_message("the harbour at dawn")).await?;
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
    assert_eq!((attachment.media_type, attachment.width, attachment.height), (MediaType::Jpeg, Some(800), Some(600)));
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
    say(&b, "lovely light! the yellow one is ours").await?;
    wait_for(&a, "bob's answer", &shows_message("lovely light! the yellow one is ours")).await?;
    b.screenshot("web-chat-media").await?;

    // Opening the thumbnail (keyboard: it is a button) shows the full
    // image, its bytes checked against the hash in the page.
    js(
        &b,
        &format!("document.querySelector('figure.attachment[data-hash=\"{hash}\"] button.attachment-open').focus();"),
        vec![],
    )
    .await?;
    b.find(&format!("figure.attachment[data-hash=\"{hash}\"] button.attachment-open"))
        .await?
        .send_keys("\u{e007}")
        .await?;
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
    crate::pdq::list_abuse_image(&node, &listed.hash).await;
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

/// Renders, with the page's own modules and a client of the page's key,
/// two attachments in a test area: an image no node holds (asked for again
/// three times, quickly) and a text file not uploaded yet (asked for again
/// every 250 ms for a minute, once its link is clicked). Records the
/// states the image's figure passes through in `window.seenStates`.
const PLACEHOLDERS: &str = r#"
const [textHash, textSize, done] = arguments;
(async () => {
  const { Client } = await import('/web/common/client.js');
  const { loadKey } = await import('/web/common/keys.js');
  const { MediaLoader, renderAttachments } = await import('/web/chat/media.js');
  const client = new Client(await loadKey());
  await client.login();
  const quick = new MediaLoader(client, { delays: [100, 100, 100] });
  const patient = new MediaLoader(client, { delays: Array(240).fill(250) });
  const area = document.createElement('div');
  area.id = 'test-area';
  document.body.prepend(area);
  const absent = renderAttachments(quick, [{ hash: 'ab'.repeat(32), size: 5, type: 'image/png', width: 400, height: 300 }], 'tester');
  const fig = absent.querySelector('figure');
  window.seenStates = [fig.dataset.state];
  new MutationObserver(() => window.seenStates.push(fig.dataset.state)).observe(fig, { attributes: true, attributeFilter: ['data-state'] });
  const late = renderAttachments(patient, [{ hash: textHash, size: textSize, type: 'text/plain' }], 'tester');
  area.append(absent, late);
  late.querySelector('a.attachment-download').click();
  return 'rendered';
})().then(done, (e) => done(`threw: ${e}`));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_the_node_does_not_hold_shows_a_placeholder_and_is_asked_for_again() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let node = TestNode::start().await?;
    let browser = Browser::start().await?;
    register(&browser, &node.url(), "frank").await?;
    let text = b"minutes of the harbour meeting\n".to_vec();
    let text_hash = Sha256Hash::digest(&text).to_string();
    let rendered = browser.eval_async(PLACEHOLDERS, vec![json!(text_hash), json!(text.len())]).await?;
    assert_eq!(rendered, json!("rendered"));

    // An image the node does not hold: asked for again, then said to be
    // missing, with a way to ask once more.
    let missing = wait_for(
        &browser,
        "the absent image's placeholder",
        "(() => { const f = document.querySelector('#test-area figure.attachment'); \
         return f.dataset.state === 'missing' && [f.querySelector('.attachment-missing')?.textContent, \
           Boolean(f.querySelector('button.attachment-retry')), f.querySelector('img').getAttribute('src'),            Math.round(f.querySelector('img').getBoundingClientRect().width),            Math.round(f.querySelector('img').getBoundingClientRect().height)]; })()",
    )
    .await?;
    // The image's place is kept at its shown size (400×300 fitted into 320
    // pixels) though no pixel arrived: the timeline does not jump.
    assert_eq!(missing, json!(["Not available on this node.", true, null, 320, 240]));
    browser.screenshot("web-chat-media-missing").await?;
    let states = js(&browser, "return window.seenStates;", vec![]).await?;
    assert_eq!(states, json!(["loading", "waiting", "missing"]), "asked again before giving up");

    // A file the node gets later (as from a peer): "not yet", then fetched.
    wait_for(
        &browser,
        "the late file's 'not yet'",
        "(() => { const f = document.querySelector('#test-area .attachment-file'); \
         return f.dataset.state === 'waiting' && f.querySelector('.attachment-missing')?.textContent; })()",
    )
    .await?;
    let uploader = node.user("uploader").await?;
    let uploaded = uploader.upload_media(text.clone()).await?;
    assert_eq!(uploaded.hash.to_string(), text_hash, "a text file is stored as uploaded");
    let link = wait_for(
        &browser,
        "the late file, fetched",
        "(() => { const f = document.querySelector('#test-area .attachment-file'); const a = f.querySelector('a'); \
         return f.dataset.state === 'ready' && [a.href.startsWith('blob:'), a.download, a.dataset.ready, \
           f.querySelector('.file-meta').textContent]; })()",
    )
    .await?;
    assert_eq!(link, json!([true, format!("{}.txt", &text_hash[..12]), "1", "Text file · 31 bytes"]));
    browser.close().await?;
    node.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_image_the_node_alters_is_not_shown() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let node = TestNode::start().await?;
    let alice = node.user("alice").await?;
    let room = alice.create_room("gallery", accord_sdk::JoinRule::Public).await?;
    let uploaded = alice.upload_media(jpeg(&synthetic(0x9a11e, 640, 480), 90)).await?;
    room.send_with_attachments("an honest photo", vec![uploaded.attachment()]).await?;

    // The node (through the proxy) serves the photo with 16 of its bytes
    // changed; its thumbnail is served as it is.
    let stored = alice.fetch_media(&uploaded.hash).await?;
    let from = stored[stored.len() / 2..stored.len() / 2 + 16].to_vec();
    let to: Vec<u8> = from.iter().map(|b| b ^ 0xff).collect();
    let hash = uploaded.hash.to_string();
    let rewrite = Rewrite { path_prefix: format!("/v1/media/{hash}"), path_contains: String::new(), from, to };
    let proxy = TamperProxy::start(node.api_addr(), rewrite).await?;

    let browser = Browser::start().await?;
    register(&browser, &proxy.url(), "bob").await?;
    join_room(&browser, &room.id().to_string(), "").await?;
    browser.until("the photo's thumbnail", &shows_thumbnail(&hash), FETCH_PATIENCE).await?;
    js(
        &browser,
        &format!("document.querySelector('figure.attachment[data-hash=\"{hash}\"] button.attachment-open').click();"),
        vec![],
    )
    .await?;
    let refused = wait_for(
        &browser,
        "the refusal of the altered image",
        "document.getElementById('image-dialog-frame').dataset.state === 'error' && \
         [document.getElementById('image-dialog-img'), document.getElementById('image-dialog-download').hidden, \
          document.getElementById('image-dialog-frame').textContent]",
    )
    .await?;
    assert_eq!(&refused.as_array().context("refusal")?[..2], &[json!(null), json!(true)], "no image and no download");
    let text = refused[2].as_str().unwrap_or_default();
    assert!(text.contains(&format!("do not hash to {hash}")), "{text:?}");
    assert!(proxy.rewrites() >= 1, "the proxy altered the photo");
    browser.close().await?;
    node.stop().await
}
