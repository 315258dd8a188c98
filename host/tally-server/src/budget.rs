//! What one read may cost. Every read behind the login (a GET) waits for one of
//! [`READ_SLOTS`] places and must answer within the server's time budget
//! (`tally serve --read-timeout`), waiting included; past it the client gets a 503 with
//! `Retry-After` and the work is dropped where it stands. Memory is bounded the same way: each
//! read the store makes stops at `tally_store::MAX_READ_ROWS` rows, and at most
//! [`READ_SLOTS`] reads hold what they have read at once, so a burst of reports queues instead
//! of adding up in the process's memory.
//!
//! **Slow reads do not hold up quick ones.** The read pool has 4 (SQLite) to 8 connections:
//! left to queue in arrival order, a few reports of years would hold them all and a page's
//! list of servers would wait a second behind them. So each request's recent time is kept, and
//! reads of a request slower than [`SLOW`] also wait for one of [`SLOW_SLOTS`] places first: at
//! most that many hold a connection, the others stay free for the quick reads. Learned rather
//! than declared: a report is slow on years of history and quick on a week's, and the same
//! reads on PostgreSQL and SQLite differ. Kept per request (path and query), not per route:
//! `/reports/{name}` is one route for ten reports over any window, most of them a few
//! milliseconds, which a route's average sent behind the few slow ones. At most [`MAX_COSTED`]
//! requests are kept; past that the costs start again from none (windows ending now make new
//! queries every minute), so the map stays bounded whatever clients send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::ApiError;

/// Reads running at once. The read pools hold 4 (SQLite) to 8 (PostgreSQL, MariaDB)
/// connections: a ninth read would only wait for a connection while holding its memory.
pub const READ_SLOTS: usize = 8;

/// Reads of slow routes running at once: half of SQLite's read connections.
pub const SLOW_SLOTS: usize = 2;

/// A route whose reads take longer than this (a moving average of its recent ones) is slow.
pub const SLOW: Duration = Duration::from_millis(100);

/// Requests (path and query) whose recent time is kept; the longest query text kept of each.
pub const MAX_COSTED: usize = 512;
const MAX_KEY: usize = 512;

/// The time budget of a read unless the operator sets another: the slowest reports measured
/// on a 10 M-session history (users, hosts and SFLM over all of it) took about 5 s on a loaded
/// machine, so 30 s only stops runaways.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Seconds a client is told to wait before asking again.
const RETRY_AFTER_SECS: u64 = 5;

/// The reads' places and time budget, shared by every request of one server.
#[derive(Debug)]
pub struct ReadBudget {
    pub time: Duration,
    slots: Semaphore,
    slow: Semaphore,
    /// Per request (`ReadBudget::key`), the moving average of its reads' time, in microseconds.
    costs: Mutex<HashMap<String, u64>>,
}

impl ReadBudget {
    pub fn new(time: Duration) -> ReadBudget {
        ReadBudget {
            time,
            slots: Semaphore::new(READ_SLOTS),
            slow: Semaphore::new(SLOW_SLOTS),
            costs: Mutex::new(HashMap::new()),
        }
    }

    /// What a read is costed under: its path and query, the query's text cut to a bound.
    fn key(path: &str, query: Option<&str>) -> String {
        let mut key = path.to_string();
        if let Some(q) = query {
            key.push('?');
            key.push_str(q);
        }
        key.truncate(key.floor_char_boundary(MAX_KEY));
        key
    }

    /// Whether reads of `route` have been slow lately.
    fn is_slow(&self, route: &str) -> bool {
        let costs = self.costs.lock().unwrap_or_else(|e| e.into_inner());
        costs
            .get(route)
            .is_some_and(|&us| us > SLOW.as_micros() as u64)
    }

    /// Adds a read of `route` that took `took` (its slot held, not its wait) to the route's
    /// average, from 0: each read weighs an eighth and counts for at most 4 × [`SLOW`], so a
    /// route turns slow after three reads that long, and one read held up by a busy machine (a cold
    /// cache, a CPU shared with reports) does not send a quick route behind the slow ones.
    fn took(&self, route: &str, took: Duration) {
        let cap = 4 * SLOW.as_micros() as u64;
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).min(cap);
        let mut costs = self.costs.lock().unwrap_or_else(|e| e.into_inner());
        if !costs.contains_key(route) {
            if costs.len() >= MAX_COSTED {
                costs.clear();
            }
            costs.insert(route.to_string(), 0);
        }
        if let Some(avg) = costs.get_mut(route) {
            *avg = (*avg / 8) * 7 + us / 8;
        }
    }
}

impl Default for ReadBudget {
    fn default() -> ReadBudget {
        ReadBudget::new(DEFAULT_READ_TIMEOUT)
    }
}

/// Runs a read within its budget; other methods pass untouched (their bodies and work have
/// bounds of their own: upload size, spool, the writer's queue).
pub async fn limit(
    State(budget): State<Arc<ReadBudget>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let deadline = tokio::time::Instant::now() + budget.time;
    let route = ReadBudget::key(request.uri().path(), request.uri().query());
    let busy = || unavailable("the server is busy with other reads; try again shortly".to_string());
    // Slow reads queue for their own places before the common ones.
    let _slow = if budget.is_slow(&route) {
        match tokio::time::timeout_at(deadline, budget.slow.acquire()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => return busy(),
        }
    } else {
        None
    };
    let Ok(Ok(_slot)) = tokio::time::timeout_at(deadline, budget.slots.acquire()).await else {
        return busy();
    };
    let started = tokio::time::Instant::now();
    // SQLite's statements run on the task's thread, beyond the timeout's reach: the store stops
    // them at the same deadline.
    let answer = tokio::time::timeout_at(
        deadline,
        tally_store::with_read_deadline(deadline.into_std(), next.run(request)),
    )
    .await;
    budget.took(&route, started.elapsed());
    match answer {
        // Not a statement stopped at the deadline.
        Ok(response) if tokio::time::Instant::now() < deadline => response,
        _ => unavailable(format!(
            "this read ran past its {} s budget and was stopped; ask for a shorter window or a coarser period",
            budget.time.as_secs_f64()
        )),
    }
}

fn unavailable(message: String) -> Response {
    ApiError::unavailable(message, RETRY_AFTER_SECS).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(budget: Arc<ReadBudget>) -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "done"
                })
                .post(|| async {
                    tokio::time::sleep(BUDGET * 2).await;
                    "written"
                }),
            )
            .route("/quick", get(|| async { "quick" }))
            .route_layer(axum::middleware::from_fn_with_state(budget, limit))
    }

    async fn call(router: &Router, method: Method, path: &str) -> (StatusCode, Option<String>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("response");
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().expect("ascii").to_string());
        (response.status(), retry)
    }

    fn busy() -> (StatusCode, Option<String>) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(RETRY_AFTER_SECS.to_string()),
        )
    }

    const BUDGET: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn a_read_past_its_budget_is_stopped_with_a_503_and_a_retry_after() {
        let router = app(Arc::new(ReadBudget::new(BUDGET)));
        let started = tokio::time::Instant::now();
        assert_eq!(call(&router, Method::GET, "/slow").await, busy());
        assert!(started.elapsed() >= BUDGET);
        assert_eq!(call(&router, Method::GET, "/quick").await.0, StatusCode::OK);
        // Writes are not reads: their bounds are their own.
        assert_eq!(call(&router, Method::POST, "/slow").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn reads_of_a_slow_route_leave_the_other_places_to_quick_reads() {
        let budget = Arc::new(ReadBudget::new(BUDGET));
        let router = app(budget.clone());
        // Reads past the budget (300 ms): the route is slow from the fourth on.
        for _ in 0..4 {
            assert!(!budget.is_slow("/slow"));
            assert_eq!(call(&router, Method::GET, "/slow").await, busy());
        }
        assert!(budget.is_slow("/slow"));
        assert!(!budget.is_slow("/quick"));
        // As many slow reads as there are places: only SLOW_SLOTS of them take one.
        let slow: Vec<_> = (0..READ_SLOTS)
            .map(|_| {
                let router = router.clone();
                tokio::spawn(async move { call(&router, Method::GET, "/slow").await })
            })
            .collect();
        tokio::time::sleep(BUDGET / 6).await;
        let started = tokio::time::Instant::now();
        assert_eq!(call(&router, Method::GET, "/quick").await.0, StatusCode::OK);
        assert!(started.elapsed() < BUDGET / 3, "{:?}", started.elapsed());
        for s in slow {
            assert_eq!(s.await.expect("read"), busy());
        }
        // Quick reads bring a route's average back down; one held-up read of a quick route
        // leaves it quick.
        for _ in 0..20 {
            budget.took("/slow", Duration::from_millis(1));
        }
        assert!(!budget.is_slow("/slow"));
        budget.took("/quick", Duration::from_secs(10));
        assert!(!budget.is_slow("/quick"));
    }

    #[test]
    fn requests_are_costed_apart_up_to_a_bound() {
        let budget = ReadBudget::new(BUDGET);
        let slow = ReadBudget::key("/r/usage", Some("from=2023-01-01"));
        let quick = ReadBudget::key("/r/usage", Some("from=2025-12-01"));
        for _ in 0..4 {
            budget.took(&slow, BUDGET);
        }
        assert!(budget.is_slow(&slow));
        assert!(!budget.is_slow(&quick));
        // Keys are bounded in length and in number: past the number, costs start again.
        let long = "x".repeat(10 * MAX_KEY);
        assert_eq!(ReadBudget::key("/r", Some(&long)).len(), MAX_KEY);
        for i in 0..MAX_COSTED {
            budget.took(&ReadBudget::key("/r", Some(&i.to_string())), BUDGET);
        }
        assert!(budget.costs.lock().expect("costs").len() <= MAX_COSTED);
        assert!(!budget.is_slow(&slow));
    }

    #[tokio::test]
    async fn reads_past_the_slots_wait_their_turn_within_the_same_budget() {
        let budget = Arc::new(ReadBudget::new(BUDGET));
        let router = app(budget.clone());
        let held = budget
            .slots
            .acquire_many(READ_SLOTS as u32)
            .await
            .expect("every slot");

        // No slot frees within the budget: the server is busy.
        let started = tokio::time::Instant::now();
        assert_eq!(call(&router, Method::GET, "/quick").await, busy());
        assert!(started.elapsed() >= BUDGET);

        // A slot frees within the budget: the read waits for it and answers.
        let waiting = tokio::spawn({
            let router = router.clone();
            async move { call(&router, Method::GET, "/quick").await }
        });
        tokio::time::sleep(BUDGET / 3).await;
        drop(held);
        assert_eq!(waiting.await.expect("read").0, StatusCode::OK);
    }
}
