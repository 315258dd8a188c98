//! One wasmtime `Engine` per process, wrapped once with safe defaults (Spin's lesson): component
//! model, pooling allocator, epoch deadlines driven by a ticker thread, deny-all WASI, per-store
//! memory caps. Everything that runs guest code goes through [`PluginEngine::store`] and
//! [`PluginEngine::classify`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::error::CallError;
use crate::manifest::{Limits, MAX_MEMORY_MIB};

/// How often the epoch advances: the granularity of call deadlines.
const TICK: Duration = Duration::from_millis(5);
/// Guest stderr kept to explain a panic; more is a trap, not a host allocation.
const STDERR_CAPACITY: usize = 64 * 1024;
/// Instances that may be alive at once (concurrent imports and polls).
const MAX_INSTANCES: u32 = 128;
/// Native stack a guest may use before it traps with a stack overflow. Calls are synchronous,
/// so wasm runs on the calling thread's stack: 2 MiB for tokio and std threads, the smallest
/// that call plugins. Half goes to the guest, half stays for the host frames below the call
/// and the WASI functions the guest calls into. A Rust guest keeps large locals on its shadow
/// stack in linear memory, so 1 MiB is tens of thousands of frames. Explicit, so a wasmtime
/// upgrade cannot change it.
const MAX_WASM_STACK: usize = 1024 * 1024;

#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine").finish_non_exhaustive()
    }
}

impl PluginEngine {
    /// `cache`: a directory for compiled plugins, reused across processes; wasmtime keys its
    /// entries by its own version, the engine configuration and the component's bytes.
    pub fn new(cache: Option<&std::path::Path>) -> wasmtime::Result<PluginEngine> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_INSTANCES)
            .total_core_instances(MAX_INSTANCES * 8)
            .total_memories(MAX_INSTANCES * 2)
            .total_tables(MAX_INSTANCES * 4)
            .total_stacks(MAX_INSTANCES)
            .max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            // Synchronous calls: an empty call costs ~200 ns instead of ~750 ns (PERF.md).
            .concurrency_support(false)
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if let Some(dir) = cache {
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            config.cache(Some(wasmtime::Cache::new(cache_config)?));
        }
        let engine = Engine::new(&config)?;
        spawn_ticker(&engine);

        // WASI policy: every WASI 0.2 interface is linked, because a Rust std guest imports
        // filesystem, sockets and environment even when it never uses them (refusing the link
        // would refuse every plugin). What a guest may *do* is set per store in `store`: no
        // preopened directory (every path fails), no environment or arguments, sockets and
        // name lookups denied, empty stdin, stdout discarded, stderr captured only to explain
        // a panic. Wall and monotonic clocks and random are real: harmless, and parsers need
        // them. `tests/hostile.rs` (hostile-wasi) asserts what a guest sees when it tries.
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        // Tally's own imports (0.2.0 pollers' `http`), answered per store by what was granted.
        crate::since_v0_2_0::http::add_to_linker::<
            HostState,
            wasmtime::component::HasSelf<HostState>,
        >(&mut linker, |state| state)?;
        Ok(PluginEngine {
            engine,
            linker: Arc::new(linker),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        Component::new(&self.engine, bytes)
    }

    /// A fresh store for one plugin: deny-all WASI, its memory cap, the `host:port`s its `http`
    /// import may reach (declared and granted; empty for all but http pollers), no deadline yet.
    pub fn store(&self, plugin: &str, limits: Limits, http: Arc<[String]>) -> Store<HostState> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // No preopens, no env, no args, no sockets, no name lookups; stdout is discarded.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = HostState {
            plugin: plugin.to_string(),
            limits,
            wasi,
            table: ResourceTable::new(),
            stderr,
            memory_exceeded: false,
            http,
            deadline: Instant::now(),
            fetched: crate::http::Fetched::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        store
    }

    /// Arms the deadline for the next call. The epoch interrupts guest code; the host's own
    /// imports (`http`) end their waits at `HostState::deadline`, the same instant.
    pub fn arm(store: &mut Store<HostState>) {
        let timeout_ms = store.data().limits.timeout_ms;
        let ticks = u64::from(timeout_ms).div_ceil(TICK.as_millis() as u64);
        store.set_epoch_deadline(ticks.max(1));
        let state = store.data_mut();
        state.deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        state.fetched = crate::http::Fetched::default();
    }

    /// Turns a failed call into the error an operator reads.
    pub fn classify(store: &Store<HostState>, error: &wasmtime::Error) -> CallError {
        let state = store.data();
        let plugin = state.plugin.clone();
        if state.memory_exceeded {
            return CallError::MemoryLimit {
                plugin,
                limit_mib: state.limits.memory_mib,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => CallError::Deadline {
                plugin,
                limit_ms: state.limits.timeout_ms,
            },
            Some(Trap::StackOverflow) => CallError::StackOverflow { plugin },
            Some(trap) => match panic_message(&state.stderr.contents()) {
                Some(message) => CallError::Panic { plugin, message },
                None => CallError::Trap {
                    plugin,
                    message: trap.to_string(),
                },
            },
            None => CallError::Trap {
                plugin,
                message: format!("{error:#}"),
            },
        }
    }
}

/// Where a Rust guest panicked and its message (`src/lib.rs:12:5: boom`), if it printed one
/// before aborting.
fn panic_message(stderr: &[u8]) -> Option<String> {
    const MARK: &str = "panicked at ";
    let text = String::from_utf8_lossy(stderr);
    let start = text.find(MARK)? + MARK.len();
    let message: String = text[start..].lines().take(2).collect::<Vec<_>>().join(" ");
    Some(message.trim().chars().take(500).collect())
}

fn spawn_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("tally-epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("spawning the epoch ticker thread");
}

/// Per-store host state: the plugin's identity, its limits, its (empty) WASI context and what
/// its `http` import may reach.
pub struct HostState {
    pub(crate) plugin: String,
    limits: Limits,
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    memory_exceeded: bool,
    /// `host:port`s declared in the manifest and granted by the operator.
    pub(crate) http: Arc<[String]>,
    /// When the current call's time is up.
    pub(crate) deadline: Instant,
    /// What `http` brought in during the current call (bounds the result like an output does).
    pub(crate) fetched: crate::http::Fetched,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let cap = self.limits.memory_mib as usize * 1024 * 1024;
        if desired > cap {
            // Trap rather than fail the grow: a guest's allocator aborts anyway, and a trap
            // tells the operator exactly which limit was hit.
            self.memory_exceeded = true;
            wasmtime::bail!("memory limit of {} MiB exceeded", self.limits.memory_mib);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn panic_message_is_extracted() {
        let stderr = b"\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nboom\nnote: run with RUST_BACKTRACE=1\n";
        assert_eq!(
            super::panic_message(stderr).as_deref(),
            Some("src/lib.rs:12:5: boom")
        );
        assert_eq!(super::panic_message(b"just noise"), None);
    }
}
