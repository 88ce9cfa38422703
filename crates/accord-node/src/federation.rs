//! Answers requests from other nodes (spec/federation.md §5).
//!
//! One task takes requests from the network's inbound channel in order and
//! answers each; it stops when the node shuts down.

use crate::api::AppState;
use crate::network::{Inbound, Network};
use accord_proto::Unverified;
use accord_proto::federation::{FedRequest, FedResponse, IdentityPair, MAX_FETCH_IDENTITIES};
use accord_proto::identity::IdentityDocument;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Serves requests until the node shuts down.
pub(crate) async fn serve(state: Arc<AppState>, network: Network, mut inbound: mpsc::Receiver<Inbound>) {
    loop {
        let request = tokio::select! {
            request = inbound.recv() => request,
            () = state.shutdown.cancelled() => None,
        };
        let Some(Inbound { peer, request, channel }) = request else { break };
        let response = answer(&state, request);
        if let FedResponse::Error { code, .. } = &response {
            tracing::debug!("refused a request from {peer}: {code}");
        }
        network.respond(channel, response).await;
    }
}

fn error(code: &str, message: impl Into<String>) -> FedResponse {
    FedResponse::Error { code: code.into(), message: message.into() }
}

fn answer(state: &AppState, request: FedRequest) -> FedResponse {
    match request {
        FedRequest::Identities { accounts } => {
            if accounts.len() > MAX_FETCH_IDENTITIES {
                return error("too_many", format!("at most {MAX_FETCH_IDENTITIES} accounts per request"));
            }
            let mut identities = Vec::with_capacity(accounts.len());
            for account in accounts {
                match state.store.identity(&account) {
                    // Only accounts this node is home to: it attests them.
                    Ok(Some((identity, attestation))) => {
                        let homed_here = Unverified::<IdentityDocument>::from_raw(identity.clone())
                            .verify()
                            .is_ok_and(|doc| doc.home == state.node_id);
                        if homed_here {
                            identities.push(IdentityPair { identity, attestation });
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!("identity lookup failed: {e}");
                        return error("internal", "the node failed");
                    }
                }
            }
            FedResponse::Identities { identities }
        }
        _ => error("unsupported", "this node does not serve that request yet"),
    }
}
