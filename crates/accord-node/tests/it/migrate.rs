//! Upgrades (docs/operating.md, "Upgrade"): a data directory written by
//! the previous version of the node (schema 1, kept in
//! `tests/fixtures/store-v1.tar.gz`, see `tests/fixtures/README.md`)
//! opens and is migrated, at start or by `accord-node migrate`; its rooms,
//! accounts and messages are all still there; a store newer than the
//! binary is refused and left as it was.

use accord_proto::{AccountId, RoomId};
use accord_sdk::{Client, HistoryQuery};
use accord_store::migrate::schema_version;
use accord_store::{Batch, Cf, SCHEMA_VERSION, Store, StoreConfig, keys};
use accord_testkit::NodeProcess;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_accord-node");
const PATIENCE: Duration = Duration::from_secs(60);

/// The fixture's general room: alice and bob, seven messages and an image.
const GENERAL: &str = "room1ke5t4r7c0hdc5vvht0aat26dkwcvd9fm4uu0sl6eclppy9x4695s6f6z6g";
/// The fixture's quiet room: bob alone, one message.
const QUIET: &str = "room1g9zucl9sts7s46xqxhmw7lpp52whmu5yjk0a2pjkn568mc6nsg6st4m2pt";

/// Unpacks the schema-1 fixture; returns the directory holding `node/`
/// (the data directory) and the members' key files.
fn unpack_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1.tar.gz");
    let file = std::fs::File::open(archive).unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(dir.path()).unwrap();
    dir
}

fn key(fixture: &Path, name: &str) -> accord_proto::SecretKey {
    accord_keyfile::read(fixture.join(format!("{name}.key"))).unwrap()
}

fn db(node: &NodeProcess) -> PathBuf {
    node.data_dir().join("db")
}

/// The rows of the `authored` index of `account`: what the migration
/// builds.
fn authored_rows(db: &Path, account: &AccountId) -> usize {
    let store = Store::open(&StoreConfig::new(db)).unwrap();
    let n = store.authored(account).unwrap().len();
    store.close().unwrap();
    n
}

/// Every message text of `room` as `client` reads it, in order.
async fn texts(client: &Client, room: &str) -> Vec<String> {
    let page = client.room(room.parse::<RoomId>().unwrap()).history(HistoryQuery::after(0).limit(100)).await.unwrap();
    page.items.into_iter().filter_map(|i| i.unwrap().text().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_written_by_the_previous_version_is_migrated_at_start_and_keeps_everything() {
    let fixture = unpack_fixture();
    let mut node = NodeProcess::adopt(Path::new(BINARY), &fixture.path().join("node")).unwrap();
    assert_eq!(schema_version(&db(&node)).unwrap(), Some(1), "the fixture is a schema-1 store");

    node.start(PATIENCE).await.unwrap();
    let alice = Client::builder().node_url(node.url()).key(key(fixture.path(), "alice")).build().unwrap();
    let bob = Client::builder().node_url(node.url()).key(key(fixture.path(), "bob")).build().unwrap();
    alice.login().await.expect("alice's session of the old version is gone, her account is not");
    bob.login().await.unwrap();
    assert_eq!(
        texts(&alice, GENERAL).await,
        [
            "alice says 1",
            "bob says 1",
            "alice says 2",
            "bob says 2",
            "alice says 3",
            "bob says 3",
            "buy pills now",
            "the view"
        ]
    );
    assert_eq!(texts(&bob, QUIET).await, ["bob alone"]);
    let sent = alice.room(GENERAL.parse().unwrap()).send_text("after the upgrade").await;
    assert!(sent.is_ok(), "the migrated node takes new messages: {sent:?}");
    node.kill().unwrap();

    assert_eq!(schema_version(&db(&node)).unwrap(), Some(SCHEMA_VERSION));
    // alice wrote: create, four messages (three texts and the image), and
    // the one sent after the upgrade; bob: create, join, five messages.
    assert_eq!(authored_rows(&db(&node), &alice.account()), 6);
    assert_eq!(authored_rows(&db(&node), &bob.account()), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn accord_node_migrate_runs_the_steps_a_node_set_to_refuse_them_asks_for() {
    let fixture = unpack_fixture();
    let mut node = NodeProcess::adopt(Path::new(BINARY), &fixture.path().join("node")).unwrap();
    let config_path = accord_node::DataDir::new(node.data_dir()).config();
    let mut config = accord_node::Config::load(&config_path).unwrap();
    config.storage.migrate = accord_store::Migrate::Refuse;
    config.save(&config_path).unwrap();

    let run = Command::new(BINARY).args(["run", "--data-dir"]).arg(node.data_dir()).output().unwrap();
    assert!(!run.status.success(), "a node set to refuse migrations does not start on an old store");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("accord-node migrate"), "the refusal names the command: {stderr}");
    assert_eq!(schema_version(&db(&node)).unwrap(), Some(1), "refusing changed nothing");

    let dry = Command::new(BINARY).args(["migrate", "--dry-run", "--data-dir"]).arg(node.data_dir()).output().unwrap();
    assert!(dry.status.success());
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(dry_out.contains("1 → 2: index the events each account wrote"), "{dry_out}");
    assert_eq!(schema_version(&db(&node)).unwrap(), Some(1), "a dry run changes nothing");

    let migrate = Command::new(BINARY).args(["migrate", "--data-dir"]).arg(node.data_dir()).output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("migrated from schema version 1 to 2"));
    assert_eq!(schema_version(&db(&node)).unwrap(), Some(SCHEMA_VERSION));

    node.start(PATIENCE).await.expect("the migrated store starts under migrate = refuse");
    let bob = Client::builder().node_url(node.url()).key(key(fixture.path(), "bob")).build().unwrap();
    bob.login().await.unwrap();
    assert_eq!(texts(&bob, QUIET).await, ["bob alone"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_newer_than_the_binary_is_refused_with_a_clear_message_and_left_as_it_was() {
    let fixture = unpack_fixture();
    let node = NodeProcess::adopt(Path::new(BINARY), &fixture.path().join("node")).unwrap();
    {
        let store = Store::open(&StoreConfig::new(db(&node))).unwrap();
        let mut b = Batch::new();
        b.put(Cf::Meta, keys::META_SCHEMA.to_vec(), (SCHEMA_VERSION + 1).to_be_bytes().to_vec());
        store.write(b).await.unwrap();
        store.close().unwrap();
    }
    let run = Command::new(BINARY).args(["run", "--data-dir"]).arg(node.data_dir()).output().unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("newer accord-node"), "{stderr}");
    let migrate = Command::new(BINARY).args(["migrate", "--data-dir"]).arg(node.data_dir()).output().unwrap();
    assert!(!migrate.status.success());
    assert!(String::from_utf8_lossy(&migrate.stderr).contains("newer"));
    assert_eq!(schema_version(&db(&node)).unwrap(), Some(SCHEMA_VERSION + 1));
}
