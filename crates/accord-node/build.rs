//! Rebuilds the node when a file under `web/` is added, changed or removed:
//! the web door embeds that folder in the binary.

fn main() {
    println!("cargo:rerun-if-changed=web");
}
