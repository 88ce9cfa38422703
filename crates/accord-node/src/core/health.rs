//! Readiness, for load balancers and orchestrators (spec/client-api.md
//! §11): the store answers, the rooms are loaded, and the peers the
//! configuration names can be reached.

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
    let checks = vec![store, rooms, peers];
    ReadyResponse { ready: checks.iter().all(|c| c.ok), checks }
}

fn check(name: &str, ok: bool, detail: String) -> ReadyCheck {
    ReadyCheck { name: name.into(), ok, detail }
}
