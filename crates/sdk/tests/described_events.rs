//! A contract the node and the SDK know nothing about by name shows its events as JSON, from
//! its own description (issue 17): the notary example added to a marketplace genesis with one
//! line.

use comqute_ledger::{Ledger, Seed};
use comqute_market::{contracts, MarketConfig};
use comqute_qpi::examples::{Notary, NOTARY, NOTARY_RECORD};
use comqute_qpi::{Amount, Hash32};
use comqute_sdk::Client;

#[tokio::test]
async fn a_contract_outside_the_marketplace_renders_its_own_events() {
    let alice = Seed::new(&"a".repeat(55)).unwrap().keypair();
    let mut b = Ledger::builder();
    for c in contracts(MarketConfig::default()) {
        b = b.contract_arc(c);
    }
    let ledger = b
        .contract(Notary)
        .fund(alice.identity(), Amount(1_000))
        .build()
        .unwrap();
    let client = Client::embedded(ledger);
    let hash = Hash32::of(b"a document");
    client
        .call(&alice, NOTARY, NOTARY_RECORD, &hash, Amount::ZERO)
        .await
        .unwrap();
    let events = client.events(0, 100).await.unwrap();
    let e = events
        .iter()
        .find(|e| e.contract == NOTARY)
        .expect("the notary's event");
    assert!(
        e.job().is_none() && e.worker().is_none() && e.escrow().is_none(),
        "not a marketplace event"
    );
    let json = e.json.as_ref().expect("rendered by the contract");
    assert_eq!(json["contract"], "notary");
    assert_eq!(json["type"], "Recorded");
    assert_eq!(json["who"], alice.identity().to_string());
    assert_eq!(json["hash"], hash.to_string());
}
