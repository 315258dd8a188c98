//! One wasmtime `Engine` per process, wrapped once with safe defaults (Spin's lesson): component
//! model, pooling allocator, epoch deadlines driven by a ticker thread, deny-all WASI, per-store
//! memory caps. Everything that runs guest code goes through [`PluginEngine::store`] and
//! [`PluginEngine::classify`].

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
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
pub const MAX_INSTANCES: u32 = 128;
/// How long a call waits for a free instance before it is refused as busy: long enough to
/// ride out a burst of short calls, short enough that a caller answers (an HTTP 503) while
/// its client still listens.
pub const BUSY_WAIT: Duration = Duration::from_secs(10);
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
    slots: Arc<Slots>,
}

/// How many plugin instances may live at once and how long a call waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Instances alive at once: each import run holds one for its whole file, each poll,
    /// sniff or describe one for its call.
    pub instances: u32,
    /// How long a call waits for a free instance before [`CallError::Busy`].
    pub busy_wait: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            instances: MAX_INSTANCES,
            busy_wait: BUSY_WAIT,
        }
    }
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

/// Freed pool slots kept for the plugin that last used them; past this many, the least recently
/// used one is taken for another plugin. Each kept slot holds up to [`KEEP_RESIDENT`] of memory:
/// with wasmtime's default (100), the format sniff of one `tally import`, which instantiates
/// every importer once, left ~15 MiB resident for the rest of the import.
const WARM_SLOTS: u32 = 4;

impl PluginEngine {
    /// `cache`: a directory for compiled plugins, reused across processes (see [`Precompiled`]).
    pub fn new(cache: Option<&Path>) -> wasmtime::Result<PluginEngine> {
        PluginEngine::with_options(cache, EngineOptions::default())
    }

    /// [`PluginEngine::new`] with other instance limits.
    pub fn with_options(
        cache: Option<&Path>,
        options: EngineOptions,
    ) -> wasmtime::Result<PluginEngine> {
        let instances = options.instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances * 8)
            .total_memories(instances * 2)
            .total_tables(instances * 4)
            .total_stacks(instances)
            .max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            .max_unused_warm_slots(WARM_SLOTS);

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
            slots: Arc::new(Slots::new(instances, options.busy_wait)),
        })
    }

    /// Takes one of the engine's instances for `plugin`, waiting up to the engine's busy wait
    /// for one to be freed. Running out is back-pressure, not the plugin's fault: the error is
    /// [`CallError::Busy`], which never counts towards a quarantine.
    pub(crate) fn slot(&self, plugin: &str) -> Result<Slot, CallError> {
        Slots::take(&self.slots).map_err(|waited| CallError::Busy {
            plugin: plugin.into(),
            instances: self.slots.capacity,
            waited_ms: waited.as_millis() as u64,
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
        // The pool ran out of some resource the slots do not count (a component with many
        // core instances or memories): back-pressure too, never a trap.
        if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            return CallError::Busy {
                plugin,
                instances: 0,
                waited_ms: 0,
            };
        }
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
/// reuses stale code. Beside each file, `.mac` holds an HMAC-SHA256 of its bytes under a key
/// of this cache directory (`key`, random, made once): compiled code runs as it is, so a
/// flipped bit, a truncated write or a file from elsewhere would crash the process (SIGILL)
/// or worse; a file whose MAC does not match is compiled again instead.
#[derive(Debug)]
pub struct Precompiled {
    dir: PathBuf,
    engine_key: String,
    mac_key: OnceLock<Option<[u8; 32]>>,
}

impl Precompiled {
    fn new(dir: &Path, engine: &Engine) -> Precompiled {
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Precompiled {
            dir: dir.to_path_buf(),
            engine_key: format!("{:016x}", hasher.finish()),
            mac_key: OnceLock::new(),
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            sha256.to_ascii_lowercase(),
            self.engine_key
        ))
    }

    fn mac_path(path: &Path) -> PathBuf {
        path.with_extension("cwasm.mac")
    }

    /// The cache's key, made on first use (readable by its owner only); `None` when the
    /// directory cannot hold one, and then nothing is cached.
    fn key(&self) -> Option<[u8; 32]> {
        *self
            .mac_key
            .get_or_init(|| match read_or_make_key(&self.dir) {
                Ok(key) => Some(key),
                Err(e) => {
                    tracing::warn!(
                        "compiled plugins are not cached: no key in {}: {e}",
                        self.dir.display()
                    );
                    None
                }
            })
    }

    /// Loads a file this cache wrote, after checking its MAC: the bytes checked are the bytes
    /// loaded (read once into memory), so the file cannot change in between.
    #[allow(unsafe_code)]
    fn load(&self, engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
        let key = self
            .key()
            .ok_or_else(|| wasmtime::format_err!("no cache key"))?;
        let bytes = std::fs::read(path)?;
        let expected = std::fs::read_to_string(Self::mac_path(path))?;
        if hex::encode(hmac_sha256(&key, &bytes)) != expected.trim() {
            wasmtime::bail!("its MAC does not match: damaged or not written by this cache");
        }
        // SAFETY: `bytes` carry this cache's MAC, so they are the output of
        // `Component::serialize` that `store` wrote for this engine's compatibility key, and
        // wasmtime checks that key again. The cache key is as private as the user's cache.
        unsafe { Component::deserialize(engine, &bytes) }
    }

    /// Writes atomically, the MAC first: a concurrent `tally` never loads a half-written file,
    /// and a file never has a MAC that is not its own for longer than a rename.
    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        let key = self
            .key()
            .ok_or_else(|| wasmtime::format_err!("no cache key"))?;
        std::fs::create_dir_all(&self.dir)?;
        let bytes = component.serialize()?;
        let partial = |p: &Path| p.with_extension(format!("partial-{}", std::process::id()));
        let mac_path = Self::mac_path(path);
        std::fs::write(partial(&mac_path), hex::encode(hmac_sha256(&key, &bytes)))?;
        std::fs::write(partial(path), &bytes)?;
        std::fs::rename(partial(&mac_path), &mac_path)?;
        std::fs::rename(partial(path), path)?;
        Ok(())
    }
}

/// The key in `dir/key`, made from the operating system's randomness if missing.
fn read_or_make_key(dir: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::Write;
    let path = dir.join("key");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(bytes) = hex::decode(text.trim())
        && let Ok(key) = <[u8; 32]>::try_from(bytes)
    {
        return Ok(key);
    }
    std::fs::create_dir_all(dir)?;
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&partial)?
        .write_all(hex::encode(key).as_bytes())?;
    // Another process may have made one meanwhile: the first rename wins, and the key in
    // place is the one every process reads.
    match std::fs::hard_link(&partial, &path) {
        Ok(()) => {
            std::fs::remove_file(&partial)?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&partial)?;
            let text = std::fs::read_to_string(&path)?;
            hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| std::io::Error::other(format!("{} is not a key", path.display())))
        }
        Err(e) => Err(e),
    }
}

/// HMAC-SHA256 (RFC 2104) with a key of at most 64 bytes (the block size).
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    debug_assert!(key.len() <= 64);
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        inner_pad[i] ^= k;
        outer_pad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// The engine's instances as a counting semaphore with a bounded queue: a call that finds
/// none free waits (at most `wait`), and when as many calls wait as there are instances, the
/// next is refused at once rather than queued without end.
#[derive(Debug)]
struct Slots {
    capacity: u32,
    wait: Duration,
    state: Mutex<SlotCount>,
    freed: Condvar,
}

#[derive(Debug)]
struct SlotCount {
    free: u32,
    waiting: u32,
}

/// One instance's place, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut count = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        count.free += 1;
        drop(count);
        self.0.freed.notify_one();
    }
}

impl Slots {
    fn new(capacity: u32, wait: Duration) -> Slots {
        Slots {
            capacity,
            wait,
            state: Mutex::new(SlotCount {
                free: capacity,
                waiting: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// A slot, or how long the caller waited in vain.
    fn take(slots: &Arc<Slots>) -> Result<Slot, Duration> {
        let start = Instant::now();
        let mut count = slots.state.lock().unwrap_or_else(|p| p.into_inner());
        if count.free == 0 && count.waiting >= slots.capacity {
            return Err(Duration::ZERO);
        }
        count.waiting += 1;
        loop {
            if count.free > 0 {
                count.free -= 1;
                count.waiting -= 1;
                return Ok(Slot(slots.clone()));
            }
            let left = slots.wait.saturating_sub(start.elapsed());
            if left.is_zero() {
                count.waiting -= 1;
                return Err(start.elapsed());
            }
            count = slots
                .freed
                .wait_timeout(count, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
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
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hex::encode(super::hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn precompiled_plugins_are_reused_and_damaged_ones_compiled_again() {
        let cache = tempfile::tempdir().expect("temp dir");
        let engine = super::PluginEngine::new(Some(cache.path())).expect("engine");
        let p = &tally_plugin_artifacts::FIRST_PARTY[0];
        let sha256 = crate::sha256_hex(p.component);
        let files = || {
            let mut names: Vec<String> = std::fs::read_dir(cache.path())
                .expect("cache dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };

        let compiled = engine.compile(p.component, &sha256).expect("compiles");
        let [file, mac, key]: [String; 3] = files().try_into().expect("three files");
        assert!(
            file.starts_with(&sha256) && file.ends_with(".cwasm"),
            "{file}"
        );
        assert_eq!(mac, format!("{file}.mac"));
        assert_eq!(key, "key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(cache.path().join("key"))
                .expect("key")
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600, "the key is its owner's only");
        }
        let file = cache.path().join(file);
        let written = std::fs::read(&file).expect("cached");
        let loaded = engine.compile(p.component, &sha256).expect("loads");
        assert_eq!(
            loaded.component_type().exports(engine.engine()).count(),
            compiled.component_type().exports(engine.engine()).count()
        );

        // A damaged file (a crash of another tool, a full disk) is replaced, never trusted.
        drop((compiled, loaded));
        std::fs::write(&file, b"not a compiled component").expect("damage");
        engine
            .compile(p.component, &sha256)
            .expect("compiles again");
        assert_eq!(std::fs::read(&file).expect("rewritten"), written);
        assert_eq!(files().len(), 3, "no partial files left behind");

        // A MAC from another cache's key does not pass either.
        std::fs::write(cache.path().join("key"), "00".repeat(32)).expect("other key");
        let other = super::PluginEngine::new(Some(cache.path())).expect("engine");
        let mac_before = std::fs::read(cache.path().join(&mac)).expect("mac");
        other.compile(p.component, &sha256).expect("compiles again");
        assert_ne!(
            std::fs::read(cache.path().join(&mac)).expect("mac"),
            mac_before
        );
    }
}
