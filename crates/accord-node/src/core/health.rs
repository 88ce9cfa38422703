//! Readiness, for load balancers and orchestrators (spec/client-api.md
//! §11): the store answers, the rooms are loaded, the peers the
//! configuration names can be reached, and a node restored from a backup
//! has caught up.

use crate::core::Core;
use crate::core::rooms::LoadProgress;
use accord_api::health::{ReadyCheck, ReadyResponse};
use accord_store::Store;

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

/// What `GET /readyz` answers while the node starts, before its core is
/// assembled: the store is open, the rooms are being loaded (`rooms`
/// fails with how many are done), and the network starts once they are.
pub fn while_loading(store: &Store, progress: &LoadProgress, bootstrap: usize) -> ReadyResponse {
    let store_check = match store.health() {
        Ok(()) => check("store", true, "reads and writes are served".into()),
        Err(e) => check("store", false, e.to_string()),
    };
    let (loaded, total) = progress.counts();
    let rooms = check("rooms", false, format!("loading rooms: {loaded} of {total}"));
    let peers = check(
        "peers",
        bootstrap == 0,
        format!("the peer-to-peer network starts once the rooms are loaded; {bootstrap} bootstrap peers configured"),
    );
    let caught_up = match store.restored() {
        Ok(None) => check("caught_up", true, "not restored from a backup".into()),
        Ok(Some(_)) => check("caught_up", false, "restored from a backup: rooms are synced once loaded".into()),
        Err(e) => check("caught_up", false, e.to_string()),
    };
    let checks = vec![store_check, rooms, peers, caught_up];
    ReadyResponse { ready: false, checks }
}

fn check(name: &str, ok: bool, detail: String) -> ReadyCheck {
    ReadyCheck { name: name.into(), ok, detail }
}
