//! # tally-plugin-sdk
//!
//! Write a Tally log importer or license-server poller as a WebAssembly component.
//!
//! Implement [`Importer`] or [`Poller`] on a type of yours and name it in [`export!`]; build with
//! `cargo build --release --target wasm32-wasip2`. The generated WIT bindings stay inside this
//! crate: a plugin works with the plain Rust values of [`records`], and the glue turns them into
//! the contract's records (interning repeated names into the per-batch string table).
//!
//! ```ignore
//! use tally_plugin_sdk::{Batch, Importer, PluginError};
//!
//! #[derive(Default)]
//! struct MyLog { /* parse state */ }
//!
//! impl Importer for MyLog {
//!     const FORMATS: &'static [&'static str] = &["my-log"];
//!     fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
//!         /* parse whole lines of `chunk`, push facts into `out` */
//!         Ok(())
//!     }
//! }
//!
//! tally_plugin_sdk::export!(importer: MyLog);
//! ```
#![deny(unsafe_code)]

pub mod checkpoint;
pub mod civil;
pub mod http;
pub mod records;
/// Native test harness for importers (not part of a component).
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod text;

pub use records::*;

/// The WIT track this SDK builds against.
pub const WIT_VERSION: &str = "0.4.0";

/// A log importer. The host feeds the file in chunks of whole lines, in order, to one instance;
/// keep whatever state spans lines (the current date, open checkouts) in `self`.
pub trait Importer: Default + 'static {
    /// Format ids this importer reads, e.g. `["flexlm-debuglog"]`.
    const FORMATS: &'static [&'static str];

    /// How sure you are (0.0–1.0) that `head`, the first ≤ 4 KiB of a file, is in your format.
    fn sniff(_head: &[u8]) -> f32 {
        0.0
    }

    /// Which of your formats `head` is in, and how sure you are; `None` if it is none of them.
    /// The default names your first format with the confidence of [`Importer::sniff`] (0.0 is
    /// `None`); override it when you read several formats so the host reports the right one.
    fn sniff_format(head: &[u8]) -> Option<Sniffed> {
        first_format(Self::FORMATS, Self::sniff(head))
    }

    /// Called once before the first chunk. `config.resume` holds what [`Importer::checkpoint`]
    /// returned when an interrupted import continues.
    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        match config.resume {
            Some(_) => Err(PluginError::Unsupported(
                "this importer cannot resume".into(),
            )),
            None => Ok(()),
        }
    }

    /// Parses one chunk of whole lines (the last line may lack its newline at end of file).
    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError>;

    /// The state to give back to [`Importer::begin`] so that a later import continues exactly
    /// after the last chunk fed.
    fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::Unsupported(
            "this importer cannot resume".into(),
        ))
    }

    /// The end of the input: close whatever is still open.
    fn finish(&mut self, _out: &mut Batch) -> Result<(), PluginError> {
        Ok(())
    }
}

/// A license-server poller: parses the output of the status command its manifest declares.
pub trait Poller: 'static {
    /// Format ids this poller reads, e.g. `["flexlm-lmstat"]`.
    const FORMATS: &'static [&'static str];

    /// How sure you are (0.0–1.0) that `head` is output of your status command.
    fn sniff(_head: &[u8]) -> f32 {
        0.0
    }

    /// Which of your formats `head` is output of, and how sure you are; `None` if none. The
    /// default names your first format with the confidence of [`Poller::sniff`].
    fn sniff_format(head: &[u8]) -> Option<Sniffed> {
        first_format(Self::FORMATS, Self::sniff(head))
    }

    /// Parses one status output taken at `now`.
    fn parse_status(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError>;

    /// An http poller (its `plugin.toml` has no `command` but `[capabilities] http`): ask
    /// `server` with [`http::fetch`] and parse the answer, typically with
    /// [`Poller::parse_status`]. The host calls it instead of running a command; a command
    /// poller keeps this default.
    fn poll(_server: &ServerAddress, _now: Timestamp) -> Result<Snapshot, PluginError> {
        Err(PluginError::Unsupported(
            "this poller parses the output of its status command; it does not poll over http"
                .into(),
        ))
    }
}

/// `FORMATS[0]` at `confidence`, when there is one and the confidence is above 0.
fn first_format(formats: &'static [&'static str], confidence: f32) -> Option<Sniffed> {
    let format = formats.first()?;
    (confidence > 0.0).then_some(Sniffed { format, confidence })
}

/// Exports a type as the plugin's component: `export!(importer: MyLog)` or `export!(poller: MyStat)`.
#[macro_export]
macro_rules! export {
    (importer: $ty:ty) => {
        // Natively the crate is a plain library (its tests call the trait); this marks the type used.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> $ty = <$ty as ::std::default::Default>::default;
        // Only a wasm32 build is a component.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::importer as __b;
            struct __Glue;
            ::std::thread_local! {
                static STATE: ::std::cell::RefCell<Option<$ty>> = const { ::std::cell::RefCell::new(None) };
            }
            impl __b::ImporterGuest for __Glue {
                fn describe() -> __b::PluginInfo {
                    $crate::__private::info(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), <$ty as $crate::Importer>::FORMATS)
                }
                fn sniff(head: Vec<u8>) -> Option<__b::Sniffed> {
                    <$ty as $crate::Importer>::sniff_format(&head).map(__b::Sniffed::lift)
                }
                fn begin(config: __b::ImportConfig) -> Result<(), __b::PluginError> {
                    STATE.with(|s| $crate::__private::begin::<$ty>(&mut s.borrow_mut(), config))
                }
                fn feed(chunk: Vec<u8>) -> Result<__b::Batch, __b::PluginError> {
                    STATE.with(|s| $crate::__private::feed::<$ty>(&mut s.borrow_mut(), &chunk))
                }
                fn checkpoint() -> Result<Vec<u8>, __b::PluginError> {
                    STATE.with(|s| $crate::__private::checkpoint::<$ty>(&s.borrow()))
                }
                fn finish() -> Result<__b::Batch, __b::PluginError> {
                    STATE.with(|s| $crate::__private::finish::<$ty>(&mut s.borrow_mut()))
                }
            }
            $crate::__private::importer::bindings::__export_importer!(__Glue with_types_in $crate::__private::importer::bindings);
        };
    };
    (poller: $ty:ty) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn(&[u8], i64) -> Result<$crate::Snapshot, $crate::PluginError> = <$ty as $crate::Poller>::parse_status;
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::poller as __b;
            struct __Glue;
            impl __b::PollerGuest for __Glue {
                fn describe() -> __b::PluginInfo {
                    $crate::__private::poller_info(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), <$ty as $crate::Poller>::FORMATS)
                }
                fn sniff(head: Vec<u8>) -> Option<__b::Sniffed> {
                    <$ty as $crate::Poller>::sniff_format(&head).map(__b::Sniffed::lift)
                }
                fn parse_status(output: Vec<u8>, now: i64) -> Result<__b::Snapshot, __b::PluginError> {
                    $crate::__private::parse_status::<$ty>(&output, now)
                }
                fn poll(server: __b::ServerAddress, now: i64) -> Result<__b::Snapshot, __b::PluginError> {
                    $crate::__private::poll::<$ty>(server, now)
                }
            }
            $crate::__private::poller::bindings::__export_poller!(__Glue with_types_in $crate::__private::poller::bindings);
        };
    };
}

#[doc(hidden)]
pub mod __private;

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;
    impl Poller for Two {
        const FORMATS: &'static [&'static str] = &["a", "b"];
        fn sniff(head: &[u8]) -> f32 {
            if head.starts_with(b"a") { 0.9 } else { 0.0 }
        }
        fn parse_status(_: &[u8], _: Timestamp) -> Result<Snapshot, PluginError> {
            Ok(Snapshot::default())
        }
    }

    #[test]
    fn a_confidence_names_the_first_format_by_default() {
        let got = Two::sniff_format(b"a...");
        assert_eq!(
            got,
            Some(Sniffed {
                format: "a",
                confidence: 0.9
            })
        );
        assert_eq!(Two::sniff_format(b"b..."), None);
        let server = ServerAddress {
            host: "h".into(),
            port: None,
        };
        assert!(matches!(
            Two::poll(&server, 0),
            Err(PluginError::Unsupported(_))
        ));
    }
}
