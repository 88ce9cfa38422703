//! The chat client the node serves at `/`, driven in headless Chromium
//! against real nodes: members chat live across federated nodes; a node
//! that serves an altered event makes the page show a verification error
//! instead of the text; one key moves between the browser and the
//! CLI's key file format both ways. Selectors are the stable ones listed at
//! the top of `crates/accord-node/web/chat/app.js`.

use accord_sdk::{EventContent, HistoryQuery, JoinRule, SecretKey, keyfile};
use accord_testkit::browser::Browser;
use accord_testkit::tamper::{Rewrite, TamperProxy};
use accord_testkit::{TestNet, TestNode};
use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(45);

/// Runs `script` (a function body that may `return`) in the page with `args`.
pub(crate) async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    browser.eval(script, args).await
}

/// Waits until `condition` (a JavaScript expression) is truthy in the page
/// and answers its value; fails the test after [`PATIENCE`], naming `what`.
pub(crate) async fn wait_for(browser: &Browser, what: &str, condition: &str) -> anyhow::Result<Value> {
    browser.until(what, condition, PATIENCE).await
}

/// Sets a form field as typing would (value, then an `input` event).
pub(crate) async fn fill(browser: &Browser, id: &str, value: &str) -> anyhow::Result<()> {
    js(
        browser,
        "const e = document.getElementById(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![json!(id), json!(value)],
    )
    .await?;
    Ok(())
}

/// Submits a form the way its submit button does.
pub(crate) async fn submit(browser: &Browser, form: &str) -> anyhow::Result<()> {
    js(browser, "document.getElementById(arguments[0]).requestSubmit();", vec![json!(form)]).await?;
    Ok(())
}

pub(crate) async fn click(browser: &Browser, id: &str) -> anyhow::Result<()> {
    js(browser, "document.getElementById(arguments[0]).click();", vec![json!(id)]).await?;
    Ok(())
}

/// Opens the node's page, creates a key in the browser and registers
/// `handle`; answers the account id the page shows.
pub(crate) async fn register(browser: &Browser, url: &str, handle: &str) -> anyhow::Result<String> {
    browser.open(url).await?;
    wait_for(browser, "the key step", "!document.getElementById('key-step').hidden").await?;
    click(browser, "key-create").await?;
    wait_for(browser, "the registration step", "!document.getElementById('register-step').hidden").await?;
    fill(browser, "register-handle", handle).await?;
    submit(browser, "register-form").await?;
    let account = wait_for(
        browser,
        "the chat after registering",
        "!document.getElementById('main').hidden && document.body.dataset.account",
    )
    .await?;
    Ok(account.as_str().context("account id")?.to_owned())
}

/// Creates a room in the page; answers its id.
pub(crate) async fn create_room(browser: &Browser, name: &str) -> anyhow::Result<String> {
    fill(browser, "create-room-name", name).await?;
    submit(browser, "create-room-form").await?;
    let room = wait_for(
        browser,
        "the new room to open",
        &format!(
            "document.getElementById('room-title').textContent === {name:?} && document.getElementById('room-pane').dataset.room"
        ),
    )
    .await?;
    Ok(room.as_str().context("room id")?.to_owned())
}

/// Joins a room by id in the page (through `via` nodes, if any) and waits until it is open.
pub(crate) async fn join_room(browser: &Browser, room: &str, via: &str) -> anyhow::Result<()> {
    fill(browser, "join-room-id", room).await?;
    fill(browser, "join-room-via", via).await?;
    submit(browser, "join-room-form").await?;
    wait_for(
        browser,
        "the joined room to open",
        &format!("document.getElementById('room-pane').dataset.room === {room:?}"),
    )
    .await?;
    Ok(())
}

/// Types `text` into the composer and presses Enter (WebDriver's U+E007),
/// as a member does.
pub(crate) async fn say(browser: &Browser, text: &str) -> anyhow::Result<()> {
    let input = browser.find("#composer-input").await?;
    input.send_keys(&format!("{text}\u{e007}")).await?;
    Ok(())
}

/// The JavaScript condition "a verified message with exactly `text` is shown".
pub(crate) fn shows_message(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#timeline-list li.event-message .event-text')].some(e => e.textContent === {text:?})"
    )
}

/// Alice, registered in a browser on the first node of `net`, creates the
/// room `name`; Bob, in a browser on the second node, joins it; returns
/// both browsers and the room id once Bob's join has reached Alice.
pub(crate) async fn alice_and_bob_in(net: &TestNet, name: &str) -> anyhow::Result<(Browser, Browser, String)> {
    let (a, b) = (Browser::start().await?, Browser::start().await?);
    register(&a, &net.nodes[0].url(), "alice").await?;
    register(&b, &net.nodes[1].url(), "bob").await?;
    let room = create_room(&a, name).await?;
    join_room(&b, &room, &net.nodes[0].node_id()).await?;
    wait_for(
        &a,
        "bob's join to reach alice",
        "document.querySelector('#timeline-list li.event-state[data-type=\"join\"]')",
    )
    .await?;
    Ok((a, b, room))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_on_two_nodes_chat_live_in_their_browsers() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let net = TestNet::start(2).await?;
    net.wait_connected(PATIENCE).await?;
    let (a, b, _room) = alice_and_bob_in(&net, "lobby").await?;

    let lines = [
        (&a, &b, "hello bob, this is alice on node one"),
        (&b, &a, "hi alice! bob here, on node two"),
        (&a, &b, "every message is signed in the browser"),
        (&b, &a, "and verified in the other one"),
    ];
    for (from, to, text) in lines {
        say(from, text).await?;
        wait_for(to, &format!("{text:?} to arrive live"), &shows_message(text)).await?;
        // The sender sees it too, as its own.
        wait_for(
            from,
            &format!("{text:?} shown as sent"),
            &format!(
                "[...document.querySelectorAll('#timeline-list li.event-message.mine .event-text')].some(e => e.textContent === {text:?})"
            ),
        )
        .await?;
    }
    // Nothing failed verification on either side, and the stream stayed live.
    for browser in [&a, &b] {
        let errors = js(browser, "return document.querySelectorAll('.event-error').length;", vec![]).await?;
        assert_eq!(errors, json!(0), "no item may fail verification");
        wait_for(browser, "a live stream", "document.getElementById('conn-status').dataset.state === 'live'").await?;
    }
    b.screenshot("web-chat-conversation").await?;
    a.screenshot("web-chat-conversation-alice").await?;
    a.close().await?;
    b.close().await?;
    net.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_altered_by_the_node_is_shown_as_a_verification_error() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let node = TestNode::start().await?;
    let alice = node.user("alice").await?;
    let room = alice.create_room("ledger", JoinRule::Public).await?;
    room.send_text("an honest message").await?;
    let receipt = room.send_text("alice owes bob 10 coins").await?;
    room.send_text("another honest message").await?;

    // The node (through the proxy) serves the second message with its
    // amount changed: the same length, the author's signature unchanged.
    let body = receipt.event.body().raw().body.clone();
    let altered = String::from_utf8(body.clone())?.replace("10 coins", "99 coins").into_bytes();
    assert_ne!(body, altered);
    let b64 = base64::engine::general_purpose::STANDARD;
    let proxy = TamperProxy::start(node.api_addr(), Rewrite::history(b64.encode(&body), b64.encode(&altered))).await?;

    let browser = Browser::start().await?;
    register(&browser, &proxy.url(), "bob").await?;
    join_room(&browser, &room.id().to_string(), "").await?;
    wait_for(&browser, "the honest messages", &shows_message("another honest message")).await?;
    let error = wait_for(
        &browser,
        "the verification error",
        "document.querySelector('#timeline-list li.event-error') && \
         [document.querySelector('#timeline-list li.event-error').dataset.code, \
          document.querySelector('#timeline-list li.event-error').textContent]",
    )
    .await?;
    assert_eq!(error[0], json!("bad_signature"), "{error}");
    assert!(error[1].as_str().unwrap_or_default().contains("failed verification"), "{error}");
    assert!(proxy.rewrites() >= 1, "the proxy altered the event");
    let texts = js(
        &browser,
        "return [...document.querySelectorAll('#timeline-list li.event-message')].map(e => e.textContent);",
        vec![],
    )
    .await?;
    let texts = texts.as_array().context("texts")?;
    assert!(texts.iter().any(|t| t.as_str().unwrap_or_default().contains("an honest message")), "{texts:?}");
    for text in texts {
        let text = text.as_str().unwrap_or_default();
        assert!(
            !text.contains("99 coins") && !text.contains("10 coins"),
            "the altered event shown as a message: {text}"
        );
    }
    browser.screenshot("web-chat-verification-error").await?;
    browser.close().await?;
    node.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_moves_between_the_browser_and_the_key_file_both_ways() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let node = TestNode::start().await?;
    let dir = tempfile::tempdir()?;

    // Browser → key file → SDK: the same account, with the browser's room.
    let browser = Browser::start().await?;
    let account = register(&browser, &node.url(), "carol").await?;
    let room = create_room(&browser, "carols-room").await?;
    click(&browser, "account-button").await?;
    click(&browser, "key-export").await?;
    let exported =
        wait_for(&browser, "the exported key file", "document.getElementById('key-export-text').value").await?;
    let exported = exported.as_str().context("key file text")?;
    assert!(exported.len() == 65 && exported.ends_with('\n'), "64 hex digits and a newline: {exported:?}");
    let path = dir.path().join("carol.key");
    write_private(&path, exported)?;
    let key = keyfile::read(&path)?;
    assert_eq!(key.account_id().to_string(), account);
    let sdk = node.client(key)?;
    sdk.login().await?;
    let rooms = sdk.rooms().await?;
    assert!(rooms.iter().any(|r| r.room.to_string() == room && r.name == "carols-room"), "{rooms:?}");
    sdk.room(room.parse()?).send_text("sent by the SDK with the browser's key").await?;
    wait_for(
        &browser,
        "the SDK's message, as the browser's own",
        "[...document.querySelectorAll('#timeline-list li.event-message.mine .event-text')]\
         .some(e => e.textContent === 'sent by the SDK with the browser\\'s key')",
    )
    .await?;

    // Key file → browser: a key made and registered by the CLI's tools acts
    // in a fresh browser as that account, without registering again.
    let key = SecretKey::generate()?;
    let path = dir.path().join("dave.key");
    keyfile::write(&path, &key)?;
    let dave = node.client(keyfile::read(&path)?)?;
    let identity = dave.register("dave", None).await?;
    let daves = dave.create_room("daves-room", JoinRule::Public).await?;
    let other = Browser::start().await?;
    other.open(&node.url()).await?;
    wait_for(&other, "the key step", "!document.getElementById('key-step').hidden").await?;
    fill(&other, "key-import-text", &std::fs::read_to_string(&path)?).await?;
    submit(&other, "key-import-form").await?;
    let shown = wait_for(
        &other,
        "the chat with the imported key",
        "!document.getElementById('main').hidden && document.body.dataset.account",
    )
    .await?;
    assert_eq!(shown, json!(key.account_id().to_string()));
    wait_for(
        &other,
        "dave's handle",
        &format!("document.getElementById('account-button').textContent === {:?}", identity.handle().to_string()),
    )
    .await?;
    wait_for(&other, "dave's room in the list", "document.querySelector('.room-item[data-name=\"daves-room\"]')")
        .await?;
    js(&other, "document.querySelector('.room-item[data-name=\"daves-room\"]').click();", vec![]).await?;
    say(&other, "written in the browser with the CLI's key").await?;
    wait_for(&other, "the message shown as sent", &shows_message("written in the browser with the CLI's key")).await?;
    let page = daves.history(HistoryQuery::after(0).limit(50)).await?;
    let found = page.items.iter().filter_map(|item| item.as_ref().ok()).any(|item| {
        item.author() == key.account_id()
            && matches!(item.event.content(), EventContent::Message { text, .. } if text.as_str() == "written in the browser with the CLI's key")
    });
    assert!(found, "the SDK reads the browser's message as dave's");
    browser.close().await?;
    other.close().await?;
    node.stop().await
}

/// Writes a key file's text readable by its owner only, as key files must be.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// What the page's protocol library (`/web/common/*.js`) makes of the
/// spec's vectors, run in the browser: ids derived from keys, canonical
/// bodies and signing inputs, deterministic signatures, every envelope and
/// event verifying, the identity pair holding together, the report body
/// rebuilt byte for byte, and altered events refused with their codes.
const VECTOR_CHECKS: &str = r#"
const [keys, envelopes, room, report, done] = arguments;
(async () => {
  const enc = await import('/web/common/encoding.js');
  const cr = await import('/web/common/crypto.js');
  const vf = await import('/web/common/verify.js');
  const ev = await import('/web/common/events.js');
  const out = [];
  const eq = (what, got, want) => { if (got !== want) out.push(`${what}: got ${got}, want ${want}`); };
  const keyOf = async (seedHex, publicKey) => ({
    privateKey: await crypto.subtle.importKey('pkcs8', enc.concat(enc.unhex('302e020100300506032b657004220420'), enc.unhex(seedHex)), { name: 'Ed25519' }, false, ['sign']),
    publicKey,
  });
  for (const k of keys.keys) {
    const pub = enc.unhex(k.public_key_hex);
    eq('account id', enc.accountIdOfKey(pub), k.account_id);
    eq('node id', enc.nodeIdOfKey(pub), k.node_id);
    eq('key base64', enc.b64encode(pub), k.public_key_base64);
  }
  const h = await cr.sha256(enc.utf8(keys.hash_ids.sha256_of));
  eq('sha256', enc.hex(h), keys.hash_ids.sha256_hex);
  eq('event id', enc.eventIdOf(h), keys.hash_ids.event_id);
  eq('room id', enc.roomIdOf(h), keys.hash_ids.room_id);
  for (const c of envelopes.cases) {
    const body = enc.b64decode(c.envelope.body);
    eq(`canonical ${c.name}`, enc.canonicalText(JSON.parse(c.body_utf8)), c.body_utf8);
    eq(`signing input ${c.name}`, enc.hex(cr.signingInput(c.domain, body)), c.signing_input_hex);
    eq(`verifies ${c.name}`, await cr.verifySigned(c.envelope, c.domain, enc.b64decode(c.envelope.signer)), true);
    const signed = await cr.signBytes(await keyOf(c.seed, enc.b64decode(c.envelope.signer)), c.domain, body);
    eq(`signature ${c.name}`, signed.sig, c.envelope.sig);
  }
  // A message with files: built by the page's event builder byte for byte,
  // verified by its verifier, and its rules (spec/events.md §2.3) applied
  // to bodies signed again with the vector's key.
  const files = envelopes.cases.find((c) => c.name === 'event body (message with attachments)');
  const fb = JSON.parse(files.body_utf8);
  const built = { room: fb.room, author: fb.author, ts: fb.ts, content: ev.content.message(fb.content.text, undefined, fb.content.attachments) };
  eq('message with attachments built', enc.canonicalText(built), files.body_utf8);
  eq('message with attachments verifies', (await vf.verifyEnvelope(files.envelope, 'event')).value.content.attachments.length, 2);
  const filesKey = await keyOf(files.seed, enc.b64decode(files.envelope.signer));
  const codeOf = async (change) => {
    const b = JSON.parse(files.body_utf8);
    change(b.content);
    const env = await cr.signBytes(filesKey, files.domain, enc.utf8(enc.canonicalText(b)));
    try { await vf.verifyEnvelope(env, 'event'); return 'accepted'; } catch (e) { return e.code; }
  };
  eq('files without text', await codeOf((c) => { c.text = ''; }), 'accepted');
  eq('no text and no files', await codeOf((c) => { c.text = ''; delete c.attachments; }), 'invalid');
  eq('an empty file list', await codeOf((c) => { c.attachments = []; }), 'non_canonical');
  eq('a pdf with a width', await codeOf((c) => { c.attachments[1].width = 10; c.attachments[1].height = 10; }), 'invalid');
  eq('an image without a height', await codeOf((c) => { delete c.attachments[0].height; }), 'invalid');
  eq('a file twice', await codeOf((c) => { c.attachments[1] = c.attachments[0]; }), 'invalid');
  eq('an empty file', await codeOf((c) => { c.attachments[1].size = 0; }), 'invalid');
  eq('a gif', await codeOf((c) => { c.attachments[0].type = 'image/gif'; }), 'malformed');
  eq('a file name', await codeOf((c) => { c.attachments[1].name = 'x.pdf'; }), 'malformed');
  eq('nine files', await codeOf((c) => { c.attachments = Array.from({ length: 9 }, (_, i) => ({ ...c.attachments[1], hash: i.toString(16).padStart(64, '0') })); }), 'invalid');
  const doc = envelopes.cases.find((c) => c.name === 'identity document').envelope;
  const att = envelopes.cases.find((c) => c.name === 'attestation').envelope;
  const id = await vf.verifyIdentity({ identity: doc, attestation: att }, keys.keys[0].account_id);
  eq('identity handle', id.handle, 'alice@example.org');
  for (const e of room.events) {
    const v = await vf.verifyEvent(e.event);
    eq('verified event id', v.id, e.id);
    eq('verified event room', v.room, room.room_id);
  }
  const msg = room.events.find((e) => JSON.parse(atob(e.event.author.body)).content.type === 'message').event;
  const altered = { author: { ...msg.author, body: btoa(atob(msg.author.body).replace('hello', 'HELLO')) }, origin: msg.origin };
  let code = 'accepted';
  try { await vf.verifyEvent(altered); } catch (e) { code = e.code; }
  eq('altered text', code, 'bad_signature');
  code = 'accepted';
  try { await vf.verifyEvent({ author: msg.author, origin: room.events[1].event.origin }); } catch (e) { code = e.code; }
  eq('foreign stamp', code, 'inconsistent_event');
  const body = JSON.parse(atob(report.signed.body));
  const reporter = await keyOf(report.reporter_seed, enc.b64decode(report.signed.signer));
  reporter.account = body.reporter;
  const now = Date.now;
  Date.now = () => body.ts;
  try {
    const signed = await ev.signReport(reporter, { category: body.category, evidence: body.evidence, context: body.context ?? [], comment: body.comment });
    eq('report body', signed.body, report.signed.body);
    eq('report signature', signed.sig, report.signed.sig);
  } finally { Date.now = now; }
  return out;
})().then(done, (e) => done([`threw: ${e}`]));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_browsers_protocol_library_agrees_with_the_spec_vectors() -> anyhow::Result<()> {
    let _machine = crate::shared().await;
    let node = TestNode::start().await?;
    let browser = Browser::start().await?;
    browser.open(&node.url()).await?;
    let vector = |name: &str| -> anyhow::Result<Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors").join(name);
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    };
    let args = vec![vector("keys.json")?, vector("envelopes.json")?, vector("room.json")?, vector("report.json")?];
    let failures = browser.eval_async(VECTOR_CHECKS, args).await?;
    assert_eq!(failures, json!([]), "the browser's library disagrees with the vectors");
    browser.close().await?;
    node.stop().await
}
