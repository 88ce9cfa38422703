//! Readiness, for load balancers and orchestrators (spec/client-api.md
//! §11): the store answers, the rooms are loaded, the peers the
//! configuration names can be reached, and a node restored from a backup
//! has caught up.

use crate::core::Core;
use accord_api::health::{ReadyCheck, ReadyResponse};

/// What `GET /readyz` answers.
pub fn readiness(core: &Core) -> ReadyResponse {
    let store = match core.store.health() {
        Ok(()) => check("store", true, "reads and writes are served".into()),
        Err(e) => check("store", false, e.to_string()),
    };
    let rooms = check("rooms", true, format!("{} rooms loaded", core.rooms.ids().len()));
    let bootstrap = core.config.p2p.bootstrap.len();
    let connected = core.network.peers().len();
    let peers = if bootstrap == 0 {
        check("peers", true, format!("no bootstrap peers configured; {connected} connected"))
    } else if connected == 0 {
        check("peers", false, format!("none of the {bootstrap} bootstrap peers is connected, nor any other"))
    } else {
        check("peers", true, format!("{connected} connected"))
    };
    let waiting = core.rooms.catching_up();
    let caught_up = if waiting == 0 {
        check("caught_up", true, "not restored from a backup, or caught up since".into())
    } else {
        check("caught_up", false, format!("restored from a backup: {waiting} rooms wait for a sync with a peer"))
    };
    let checks = vec![store, rooms, peers, caught_up];
    ReadyResponse { ready: checks.iter().all(|c| c.ok), checks }
}

fn check(name: &str, ok: bool, detail: String) -> ReadyCheck {
    ReadyCheck { name: name.into(), ok, detail }
}
