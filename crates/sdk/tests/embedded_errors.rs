//! The embedded transport calls the node's services directly: a refusal carries the node's
//! stable code, the same a remote node answers with, and no HTTP status (issue 17, item 5).

use comqute_sdk::{keys, Amount, Client, SdkError, Tick};

#[tokio::test]
async fn embedded_refusals_carry_the_node_code_without_an_http_status() {
    let client = Client::embedded_devnet().unwrap();
    let alice = keys::keypair_from_seed(&"a".repeat(55)).unwrap();

    let e = client.tokens(7).await.unwrap_err();
    assert!(
        matches!(&e, SdkError::Service { code, retryable: false, .. } if code == "not_found"),
        "{e:?}"
    );
    assert!(e.is_not_found() && !e.is_transient());
    assert!(!e.to_string().contains("HTTP"), "{e}");

    let e = client
        .faucet(&alice.identity(), Amount(0))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("bad_parameter"), "{e}");

    client.warp_ticks(3).await.unwrap();
    let e = client.warp_to(Tick(1)).await.unwrap_err();
    assert_eq!(e.code(), Some("bad_parameter"), "a warp into the past: {e}");

    let e = client.put_blob(&vec![0; 9 << 20]).await.unwrap_err();
    assert_eq!(e.code(), Some("body_too_large"), "{e}");

    // A token feed of a job that does not exist ends with the same refusal.
    let mut feed = client.subscribe_tokens(7);
    match feed.next().await {
        Some(Err(e)) => assert_eq!(e.code(), Some("not_found"), "{e}"),
        other => panic!("expected a not_found refusal, got {other:?}"),
    }
}
