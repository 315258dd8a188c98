//! What the verbs keep in the store besides facts: poll leases, import jobs, accounts, tokens
//! and browser sessions, on every backend.

mod common;

use tally_store::{JobState, ServerConfig, Store, StoreError};

stories!(
    a_poll_lease_is_one_nodes_until_it_expires,
    jobs_are_kept_and_abandoned_ones_fail,
    accounts_tokens_and_sessions,
);

async fn a_poll_lease_is_one_nodes_until_it_expires(store: Store) {
    let server = store
        .add_server(ServerConfig::imported("lic1", "flexlm"))
        .await
        .expect("server");
    assert!(
        store
            .claim_poll(server, "a", 1000, 1150)
            .await
            .expect("a claims")
    );
    // Another node within the claim: refused; the holder renews.
    assert!(!store.claim_poll(server, "b", 1060, 1210).await.expect("b"));
    assert!(
        store
            .claim_poll(server, "a", 1060, 1210)
            .await
            .expect("a renews")
    );
    assert!(!store.claim_poll(server, "b", 1209, 1359).await.expect("b"));
    // `a` died: once its claim ran out, `b` takes over, and `a` (back) is refused.
    assert!(
        store
            .claim_poll(server, "b", 1210, 1360)
            .await
            .expect("b takes over")
    );
    assert!(!store.claim_poll(server, "a", 1300, 1450).await.expect("a"));
    // A node stopping gives its servers up at once.
    store.release_polls("b").await.expect("release");
    assert!(
        store
            .claim_poll(server, "a", 1301, 1451)
            .await
            .expect("a again")
    );
}

async fn jobs_are_kept_and_abandoned_ones_fail(store: Store) {
    let done = store
        .add_job("a.log", Some("lic1"), "node-1", 100)
        .await
        .expect("job");
    store
        .job_progress(done, 50, 100, 101)
        .await
        .expect("progress");
    // A late write of older progress does not move it back.
    store
        .job_progress(done, 20, 100, 101)
        .await
        .expect("progress");
    store
        .finish_job(done, Ok(serde_json::json!({"sessions": 3})), (50, 100), 102)
        .await
        .expect("finish");
    let failed = store
        .add_job("b.log", None, "node-1", 100)
        .await
        .expect("job");
    store
        .finish_job(failed, Err("cannot tell the format".into()), (0, 0), 103)
        .await
        .expect("finish");
    let orphan = store
        .add_job("c.log", None, "node-1", 100)
        .await
        .expect("job");
    let mine = store
        .add_job("d.log", None, "node-2", 100)
        .await
        .expect("job");

    // node-2 starts at 200: node-1's running job, silent since 100, is failed; its own stays.
    assert_eq!(
        store
            .fail_abandoned_jobs("node-2", 140, 200)
            .await
            .expect("fail"),
        1
    );
    let job = |id| {
        let store = store.clone();
        async move { store.job(id).await.expect("read").expect("job") }
    };
    let d = job(done).await;
    assert_eq!(
        (d.state, d.bytes_done, d.bytes_total),
        (JobState::Done, 50, 100)
    );
    assert_eq!(d.summary, Some(serde_json::json!({"sessions": 3})));
    assert_eq!(
        job(failed).await.error.as_deref(),
        Some("cannot tell the format")
    );
    assert_eq!(job(orphan).await.state, JobState::Failed);
    assert_eq!(job(mine).await.state, JobState::Running);

    let newest: Vec<i64> = store
        .jobs(None, 2)
        .await
        .expect("list")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(newest, [mine, orphan]);
    let next: Vec<i64> = store
        .jobs(Some(orphan), 10)
        .await
        .expect("list")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(next, [failed, done]);
}

async fn accounts_tokens_and_sessions(store: Store) {
    store
        .add_account("ann", "administrator", "$argon2id$x", 10)
        .await
        .expect("ann");
    assert!(matches!(
        store.add_account("ann", "viewer", "$argon2id$y", 11).await,
        Err(StoreError::AccountExists(name)) if name == "ann"
    ));
    store
        .add_account("vic", "viewer", "$argon2id$z", 12)
        .await
        .expect("vic");
    assert_eq!(store.count_role("administrator").await.expect("count"), 1);

    let hash = "a".repeat(64);
    let token = store
        .add_token("vic", "ci", "api", &hash, 20)
        .await
        .expect("token");
    let (found, account) = store
        .token_account(&hash)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (found.id, found.user.as_str(), account.role.as_str()),
        (token, "vic", "viewer")
    );
    store.token_used(token, 30).await.expect("used");
    assert_eq!(store.tokens().await.expect("tokens")[0].last_used, Some(30));

    let session = "b".repeat(64);
    store
        .add_web_session(account.id, &session, "csrf", 40, 100)
        .await
        .expect("session");
    let live = store
        .web_session(&session, 99)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        (live.account.name.as_str(), live.csrf.as_str()),
        ("vic", "csrf")
    );
    assert!(
        store
            .web_session(&session, 100)
            .await
            .expect("read")
            .is_none(),
        "expired"
    );

    store
        .update_account("vic", "administrator", None)
        .await
        .expect("promote");
    assert_eq!(store.count_role("administrator").await.expect("count"), 2);
    store.remove_account("vic").await.expect("remove");
    assert!(store.token_account(&hash).await.expect("read").is_none());
    assert!(matches!(
        store.remove_account("vic").await,
        Err(StoreError::NoSuchAccount(_))
    ));
    assert!(!store.remove_token(token).await.expect("remove"));
}
