//! The peer-to-peer side: one task owns the libp2p `Swarm` and talks to the
//! rest of the node through channels.
//!
//! Today the swarm listens, answers identify and ping, and dials the
//! configured bootstrap peers; federation protocols (push, sync, fetch,
//! join) are added on top of this loop.

use accord_proto::SecretKey;
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm, connection_limits, identify, identity, noise, ping, tcp, yamux};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Incoming connections being set up at once.
const MAX_PENDING_INCOMING: u32 = 64;
/// Established incoming connections.
const MAX_INCOMING: u32 = 512;
/// Established connections per peer.
const MAX_PER_PEER: u32 = 4;

/// Identify protocol version of Accord nodes.
const PROTOCOL_VERSION: &str = "/accord/1.0.0";

pub use behaviour::{Behaviour, BehaviourEvent};

mod behaviour {
    #![allow(missing_docs, reason = "the derive generates an undocumented event enum")]
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{connection_limits, identify, ping};

    /// The node's libp2p behaviour.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        pub(super) limits: connection_limits::Behaviour,
        pub(super) identify: identify::Behaviour,
        pub(super) ping: ping::Behaviour,
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The key, a transport or an address was refused.
    #[error("{0}")]
    Setup(String),
}

/// Commands to the network task.
#[derive(Debug)]
pub enum Command {
    /// Stop the event loop.
    Shutdown,
}

/// Handle to the running network task.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    listen_addrs: Arc<Mutex<Vec<Multiaddr>>>,
    peers: Arc<Mutex<usize>>,
}

impl Network {
    /// Builds the swarm from the node key, listens on `listen`, dials
    /// `bootstrap`, and spawns the event loop.
    pub async fn start(key: &SecretKey, listen: &[String], bootstrap: &[String]) -> Result<Network, NetworkError> {
        let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
        let keypair = identity::Keypair::ed25519_from_bytes(*key.to_seed()).map_err(|e| setup(&e))?;
        let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| setup(&e))?
            .with_quic()
            .with_behaviour(|k| Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                        .with_max_established_incoming(Some(MAX_INCOMING))
                        .with_max_established_per_peer(Some(MAX_PER_PEER)),
                ),
                identify: identify::Behaviour::new(identify::Config::new(PROTOCOL_VERSION.into(), k.public())),
                ping: ping::Behaviour::default(),
            })
            .map_err(|e| setup(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        for addr in listen {
            let addr: Multiaddr = addr.parse().map_err(|e| setup(&format!("listen address {addr}: {e}")))?;
            swarm.listen_on(addr).map_err(|e| setup(&e))?;
        }
        for addr in bootstrap {
            let addr: Multiaddr = addr.parse().map_err(|e| setup(&format!("bootstrap address {addr}: {e}")))?;
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::warn!("cannot dial bootstrap peer {addr}: {e}");
            }
        }
        let (commands, rx) = mpsc::channel(64);
        let network = Network { commands, listen_addrs: Arc::default(), peers: Arc::default() };
        // Wait briefly for the listeners to report their addresses, so the
        // node can print them.
        let mut event_loop = EventLoop { swarm, commands: rx, network: network.clone() };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while network.listen_addrs().len() < listen.len() {
            let Ok(Some(event)) = tokio::time::timeout_at(deadline, event_loop.swarm.next()).await else { break };
            event_loop.handle(event);
        }
        tokio::spawn(event_loop.run());
        Ok(network)
    }

    /// The addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen_addrs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        *self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the event loop.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    network: Network,
}

impl EventLoop {
    async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                },
            }
        }
    }

    fn handle(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!("p2p listening on {address}");
                self.network.listen_addrs.lock().unwrap_or_else(|p| p.into_inner()).push(address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                tracing::debug!("connected to {peer_id}");
                *self.network.peers.lock().unwrap_or_else(|p| p.into_inner()) = self.swarm.connected_peers().count();
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                tracing::debug!("disconnected from {peer_id}");
                *self.network.peers.lock().unwrap_or_else(|p| p.into_inner()) = self.swarm.connected_peers().count();
            }
            _ => {}
        }
    }
}
