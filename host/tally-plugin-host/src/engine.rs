//! One wasmtime `Engine` per process, wrapped once with safe defaults (Spin's lesson): component
//! model, pooling allocator, epoch deadlines driven by a ticker thread, deny-all WASI, per-store
//! memory caps. Everything that runs guest code goes through [`PluginEngine::store`] and
//! [`PluginEngine::classify`].

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
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
    precompiled: Option<Arc<Precompiled>>,
    ticker: Arc<Ticker>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine").finish_non_exhaustive()
    }
}

/// Bytes of each pooled memory and table kept mapped when an instance is dropped: zeroed by a
/// memset instead of returned to the kernel and faulted in again by the next call. Measured on
/// the poll bench (a 38 KB lmstat answer): 4.9–5.2 ms a poll without, 4.2 ms with; 4 MiB did no
/// better. At most this much stays resident per pool slot used.
const KEEP_RESIDENT: usize = 1 << 20;

impl PluginEngine {
    /// `cache`: a directory for compiled plugins, reused across processes (see [`Precompiled`]).
    pub fn new(cache: Option<&Path>) -> wasmtime::Result<PluginEngine> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_INSTANCES)
            .total_core_instances(MAX_INSTANCES * 8)
            .total_memories(MAX_INSTANCES * 2)
            .total_tables(MAX_INSTANCES * 4)
            .total_stacks(MAX_INSTANCES)
            .max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            // Synchronous calls: an empty call costs ~200 ns instead of ~750 ns (PERF.md).
            .concurrency_support(false)
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        let ticker = Ticker::spawn(&engine);

        // WASI policy: every WASI 0.2 interface is linked, because a Rust std guest imports
        // filesystem, sockets and environment even when it never uses them (refusing the link
        // would refuse every plugin). What a guest may *do* is set per store in `store`: no
        // preopened directory (every path fails), no environment or arguments, sockets and
        // name lookups denied, empty stdin, stdout discarded, stderr captured only to explain
        // a panic. Wall and monotonic clocks and random are real: harmless, and parsers need
        // them. `tests/hostile.rs` (hostile-wasi) asserts what a guest sees when it tries.
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        // Tally's own imports (`http`, for pollers on 0.2.0 or later), answered per store by
        // what was granted.
        crate::since_v0_2_0::http::add_to_linker::<
            HostState,
            wasmtime::component::HasSelf<HostState>,
        >(&mut linker, |state| state)?;
        let precompiled = cache.map(|dir| Arc::new(Precompiled::new(dir, &engine)));
        Ok(PluginEngine {
            engine,
            linker: Arc::new(linker),
            precompiled,
            ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// The component of `bytes`, whose sha256 (hex) the caller has verified: loaded from the
    /// cache when it holds it, else compiled (and cached).
    pub fn compile(&self, bytes: &[u8], sha256: &str) -> wasmtime::Result<Component> {
        let Some(cache) = &self.precompiled else {
            return Component::new(&self.engine, bytes);
        };
        let path = cache.path(sha256);
        if path.exists() {
            match cache.load(&self.engine, &path) {
                Ok(component) => return Ok(component),
                // Damaged or from another build: compile again and replace it.
                Err(e) => tracing::warn!("compiling again: cached {}: {e:#}", path.display()),
            }
        }
        let component = Component::new(&self.engine, bytes)?;
        if let Err(e) = cache.store(&path, &component) {
            // A read-only or full cache directory costs start-up time, never a plugin.
            tracing::warn!(
                "cannot cache the compiled plugin in {}: {e:#}",
                path.display()
            );
        }
        Ok(component)
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
            ticker: self.ticker.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        store
    }

    /// Arms the deadline for the next call, which must run while the returned guard lives.
    /// The epoch interrupts guest code; the host's own imports (`http`) end their waits at
    /// `HostState::deadline`, the same instant.
    pub(crate) fn arm(store: &mut Store<HostState>) -> Ticking {
        let ticking = Ticker::start(&store.data().ticker);
        let timeout_ms = store.data().limits.timeout_ms;
        let ticks = u64::from(timeout_ms).div_ceil(TICK.as_millis() as u64);
        store.set_epoch_deadline(ticks.max(1));
        let state = store.data_mut();
        state.deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        state.fetched = crate::http::Fetched::default();
        ticking
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

/// Compiled plugins on disk, one file per component and engine: named by the component's
/// sha256 and a hash of what makes compiled code compatible (wasmtime's version, the engine
/// configuration, the host CPU's features), so a changed plugin, upgrade or setting never
/// reuses stale code. Loading one maps the file into memory, ready to run: 0.3–0.5 ms instead
/// of 100–400 ms of compilation (wasmtime's own cache decompresses and copies: 1–5 ms).
#[derive(Debug)]
pub struct Precompiled {
    dir: PathBuf,
    engine_key: String,
}

impl Precompiled {
    fn new(dir: &Path, engine: &Engine) -> Precompiled {
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Precompiled {
            dir: dir.to_path_buf(),
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            sha256.to_ascii_lowercase(),
            self.engine_key
        ))
    }

    /// Maps a file this cache wrote. wasmtime checks its header and the engine compatibility;
    /// what it cannot check is that the code is what it compiled, so the cache directory must
    /// be as trusted as the `tally` binary (it is the user's own cache directory). A mapped
    /// file must not change in place: `store` only ever replaces files by rename.
    #[allow(unsafe_code)]
    fn load(&self, engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
        // SAFETY: `path` holds the output of `Component::serialize` written by `store` for
        // this engine's compatibility key, and is never modified in place; see above for trust.
        unsafe { Component::deserialize_file(engine, path) }
    }

    /// Writes atomically: a concurrent `tally` never maps a half-written file.
    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        std::fs::write(&partial, component.serialize()?)?;
        std::fs::rename(&partial, path)?;
        Ok(())
    }
}

/// Advances the engine's epoch every [`TICK`] while a call runs, and sleeps while none does:
/// ticking all the time cost ~0.5 % of a core on a server polled 1,000 times a minute, a
/// quarter of PERF.md target 4's budget. Its thread ends soon after the engine is dropped.
struct Ticker {
    calls: AtomicUsize,
    thread: OnceLock<std::thread::Thread>,
}

/// A call in flight: the epoch advances until it is dropped.
#[must_use = "the epoch advances only while the guard lives"]
pub struct Ticking(Arc<Ticker>);

impl Drop for Ticking {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Ticker {
    fn spawn(engine: &Engine) -> Arc<Ticker> {
        let ticker = Arc::new(Ticker {
            calls: AtomicUsize::new(0),
            thread: OnceLock::new(),
        });
        let (weak, shared) = (engine.weak(), ticker.clone());
        let thread = std::thread::Builder::new()
            .name("tally-epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    if shared.calls.load(Ordering::Acquire) == 0 {
                        drop(engine);
                        // Woken by the next call; the timeout only notices a dropped engine.
                        std::thread::park_timeout(Duration::from_secs(1));
                    } else {
                        // Sleep first: a deadline of n ticks is never shorter than n ticks.
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                }
            })
            .expect("spawning the epoch ticker thread");
        let _ = ticker.thread.set(thread.thread().clone());
        ticker
    }

    fn start(ticker: &Arc<Ticker>) -> Ticking {
        if ticker.calls.fetch_add(1, Ordering::AcqRel) == 0
            && let Some(thread) = ticker.thread.get()
        {
            thread.unpark();
        }
        Ticking(ticker.clone())
    }
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
    ticker: Arc<Ticker>,
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

    #[test]
    fn precompiled_plugins_are_reused_and_damaged_ones_compiled_again() {
        let cache = tempfile::tempdir().expect("temp dir");
        let engine = super::PluginEngine::new(Some(cache.path())).expect("engine");
        let p = &tally_plugin_artifacts::FIRST_PARTY[0];
        let sha256 = crate::sha256_hex(p.component);
        let files = || {
            std::fs::read_dir(cache.path())
                .expect("cache dir")
                .map(|e| e.expect("entry").path())
                .collect::<Vec<_>>()
        };

        let compiled = engine.compile(p.component, &sha256).expect("compiles");
        let [file] = files().try_into().expect("one cached file");
        assert!(
            file.to_string_lossy().contains(&sha256),
            "{}",
            file.display()
        );
        let mapped = engine.compile(p.component, &sha256).expect("loads");
        assert_eq!(
            mapped.component_type().exports(engine.engine()).count(),
            compiled.component_type().exports(engine.engine()).count()
        );

        // A damaged file (a crash of another tool, a full disk) is replaced, never trusted.
        // (Not while mapped: changing a mapped file in place is what `store` never does.)
        drop((compiled, mapped));
        std::fs::write(&file, b"not a compiled component").expect("damage");
        engine
            .compile(p.component, &sha256)
            .expect("compiles again");
        assert!(std::fs::metadata(&file).expect("rewritten").len() > 1024);
        assert_eq!(files().len(), 1, "no partial files left behind");
    }
}
