//! The `accord` binary over HTTPS with a private CA's certificate, against
//! a node serving TLS itself and against a node behind a TLS-terminating
//! proxy: trusted with `--ca-cert` (or `ACCORD_CA_CERT`), refused with a
//! clear error without it.

use accord_testkit::TestNode;
use accord_testkit::tls::{TestCa, TlsProxy};
use std::path::Path;
use std::process::Output;

/// Runs `accord ARGS` with the node URL and key file given in the environment.
async fn accord(node: &str, key: &Path, envs: &[(&str, &Path)], args: &[&str]) -> anyhow::Result<Output> {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_accord"));
    command.args(args).env("ACCORD_NODE", node).env("ACCORD_KEY", key).env_remove("ACCORD_CA_CERT");
    for (name, value) in envs {
        command.env(name, value);
    }
    Ok(command.output().await?)
}

fn stdout(output: &Output) -> anyhow::Result<String> {
    anyhow::ensure!(output.status.success(), "accord failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8(output.stdout.clone())?.trim().to_owned())
}

/// A new account registers, creates a room, sends and reads history at
/// `url` (`https://`, certificate issued by `ca`); without the CA, the CLI
/// says the certificate is not trusted.
async fn chats_over_https(url: &str, ca: &TestCa) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca_file = ca.write_cert(dir.path())?;
    let key = dir.path().join("alice.key");
    let url = url.to_string();
    assert!(url.starts_with("https://"), "{url}");
    let ca_arg = ca_file.to_str().ok_or_else(|| anyhow::anyhow!("path"))?;

    stdout(&accord(&url, &key, &[], &["keygen"]).await?)?;
    stdout(&accord(&url, &key, &[], &["register", "alice", "--ca-cert", ca_arg]).await?)?;
    let with_ca = [("ACCORD_CA_CERT", ca_file.as_path())];
    let room = stdout(&accord(&url, &key, &with_ca, &["room", "create", "general"]).await?)?;
    stdout(&accord(&url, &key, &with_ca, &["send", &room, "hello over https"]).await?)?;
    let history = stdout(&accord(&url, &key, &with_ca, &["history", &room]).await?)?;
    assert!(history.contains("hello over https"), "{history}");

    let refused = accord(&url, &key, &[], &["room", "list"]).await?;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("tls") && stderr.contains("not trusted"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn the_cli_chats_with_a_node_serving_tls_itself() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let node = TestNode::start_tls(&ca, |_| {}).await?;
    chats_over_https(&node.url(), &ca).await?;
    node.stop().await
}

#[tokio::test]
async fn the_cli_chats_with_a_node_behind_a_tls_terminating_proxy() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let ca = TestCa::new()?;
    let proxy = TlsProxy::start(node.api_addr(), &ca.issue_loopback()?).await?;
    chats_over_https(&proxy.url(), &ca).await?;
    node.stop().await
}
