//! Whether this Tally is well: liveness (the process answers) needs nothing; readiness asks the
//! store, the scheduler and the plugins. `GET /api/v1/health` and `tally serve`'s service
//! checks call [`check`].

use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::App;

/// The scheduler is stalled when its supervisor has not gone round for this long (it goes round
/// every 2 s).
pub const SCHEDULER_STALLED_AFTER_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything is well.
    Ok,
    /// Serving, with the store, but polls, follows or some plugins are not working.
    Degraded,
    /// Not ready: the store does not answer, so nothing can be read or recorded.
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreHealth {
    Ok,
    Unreachable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchedulerHealth {
    Ok,
    /// Started, but its supervisor stopped going round.
    Stalled,
    /// Not started in this process (a one-shot command, or a test).
    NotRunning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginsHealth {
    Ok,
    /// Some plugins are quarantined (they trapped): their formats are not read.
    Degraded,
    /// No plugin is enabled: nothing can be polled or imported.
    NoneEnabled,
}

/// What `GET /api/v1/health` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub status: Status,
    pub store: StoreHealth,
    pub scheduler: SchedulerHealth,
    pub plugins: PluginsHealth,
    /// The quarantined plugins' ids.
    pub quarantined_plugins: Vec<String>,
}

impl Health {
    /// The overall status from the parts: the store decides readiness; the rest degrade.
    pub fn new(
        store: StoreHealth,
        scheduler: SchedulerHealth,
        quarantined_plugins: Vec<String>,
        enabled_plugins: usize,
    ) -> Health {
        let plugins = if enabled_plugins == 0 {
            PluginsHealth::NoneEnabled
        } else if quarantined_plugins.is_empty() {
            PluginsHealth::Ok
        } else {
            PluginsHealth::Degraded
        };
        let status = if store != StoreHealth::Ok {
            Status::Down
        } else if scheduler != SchedulerHealth::Ok || plugins != PluginsHealth::Ok {
            Status::Degraded
        } else {
            Status::Ok
        };
        Health {
            status,
            store,
            scheduler,
            plugins,
            quarantined_plugins,
        }
    }

    /// Ready to serve: the store answers.
    pub fn ready(&self) -> bool {
        self.status != Status::Down
    }
}

/// Asks the store (one small read), the scheduler's heartbeat and the plugins' health.
pub async fn check(app: &App) -> Health {
    let store = match app.store.config_version().await {
        Ok(_) => StoreHealth::Ok,
        Err(error) => {
            tracing::warn!("health: the store does not answer: {error}");
            StoreHealth::Unreachable
        }
    };
    let scheduler = scheduler_health(app.scheduler_beat.load(Ordering::Relaxed), crate::now());
    let plugins = app.registry.list();
    let quarantined = plugins
        .iter()
        .filter(|p| p.health().quarantined.is_some())
        .map(|p| p.id().to_string())
        .collect();
    Health::new(store, scheduler, quarantined, plugins.len())
}

/// `beat`: when the scheduler's supervisor last went round (0: never).
fn scheduler_health(beat: i64, now: i64) -> SchedulerHealth {
    if beat == 0 {
        SchedulerHealth::NotRunning
    } else if now - beat > SCHEDULER_STALLED_AFTER_SECS {
        SchedulerHealth::Stalled
    } else {
        SchedulerHealth::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_decides_readiness_and_the_rest_degrade() {
        let well = Health::new(StoreHealth::Ok, SchedulerHealth::Ok, vec![], 13);
        assert_eq!(
            (well.status, well.plugins, well.ready()),
            (Status::Ok, PluginsHealth::Ok, true)
        );
        let stalled = Health::new(StoreHealth::Ok, SchedulerHealth::Stalled, vec![], 13);
        assert_eq!((stalled.status, stalled.ready()), (Status::Degraded, true));
        let trapped = Health::new(StoreHealth::Ok, SchedulerHealth::Ok, vec!["x".into()], 13);
        assert_eq!(
            (trapped.status, trapped.plugins),
            (Status::Degraded, PluginsHealth::Degraded)
        );
        let none = Health::new(StoreHealth::Ok, SchedulerHealth::Ok, vec![], 0);
        assert_eq!(
            (none.status, none.plugins),
            (Status::Degraded, PluginsHealth::NoneEnabled)
        );
        let down = Health::new(StoreHealth::Unreachable, SchedulerHealth::Ok, vec![], 13);
        assert_eq!((down.status, down.ready()), (Status::Down, false));
    }

    #[test]
    fn a_scheduler_that_stopped_going_round_is_stalled() {
        assert_eq!(scheduler_health(0, 1_000), SchedulerHealth::NotRunning);
        assert_eq!(scheduler_health(990, 1_000), SchedulerHealth::Ok);
        assert_eq!(
            scheduler_health(1_000 - SCHEDULER_STALLED_AFTER_SECS - 1, 1_000),
            SchedulerHealth::Stalled
        );
    }
}
