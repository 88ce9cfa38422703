//! End-to-end specification tests of one node: real RocksDB directories,
//! real HTTP and WebSocket, SDK clients and hand-made hostile requests.

mod admin_listener;
mod allocator;
mod architecture;
mod backup;
mod chat;
mod crash;
mod discover_cli;
mod disk_full;
mod docs;
mod doctor;
mod health;
mod hostile;
mod hostile_clients;
mod limits;
mod lists;
mod migrate;
mod moderation_cli;
mod pdq_cli;
mod power_loss;
mod raw;
mod reload;
mod robustness;
mod stream;
mod tls;
mod witness;
